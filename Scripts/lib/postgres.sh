#!/usr/bin/env bash
# Sourceable: a throwaway PostgreSQL (Debian's postgresql, 15 on Debian 12) for the PostgreSQL
# tests, on loopback, with a login role that signs in with a password.
#
#   source Scripts/lib/prerequisites.sh   # for ergon_apt_install
#   source Scripts/lib/postgres.sh
#   ergon_postgres_up     # no-op when $ERGON_TEST_POSTGRES_URL answers; else installs postgresql if
#                         # needed, creates or reuses the cluster in $ERGON_POSTGRES_STATE_DIR, starts
#                         # it on 127.0.0.1:$ERGON_POSTGRES_PORT (default 5433) unless it runs, and
#                         # exports ERGON_TEST_POSTGRES_URL and PGPASSWORD
#   ergon_postgres_psql   # psql against $ERGON_TEST_POSTGRES_URL (extra arguments go to psql)
#   ergon_postgres_down   # stops the cluster only if this shell started it (by its recorded pid)
#
# The cluster belongs to the `postgres` system user when the script runs as root (initdb refuses
# root), to the invoking user otherwise. It listens on 127.0.0.1 only, with its unix socket in the
# state directory; host connections need a password (scram-sha-256), the socket takes only the
# cluster's owner (peer). The role `ergon` (password `ergon`, test-only values) is a superuser.
# State (the cluster in data/, its log, `started.pid`, the postmaster this file started, and
# `env`, a sourceable file with the variables above) lives in ERGON_POSTGRES_STATE_DIR (default
# /tmp/ergon-postgres); the server outlives the shell that started it unless it is stopped.

ERGON_POSTGRES_STATE_DIR="${ERGON_POSTGRES_STATE_DIR:-/tmp/ergon-postgres}"
ERGON_POSTGRES_PORT="${ERGON_POSTGRES_PORT:-5433}"
ERGON_POSTGRES_USER=ergon
ERGON_POSTGRES_PASSWORD=ergon

# Prints the bin directory of the newest PostgreSQL server installed (/usr/lib/postgresql/N/bin).
ergon_postgres_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || return 1
    echo "$bin"
}

# Installs Debian's postgresql when no server is installed.
ergon_postgres_install() {
    ergon_postgres_bin >/dev/null && return 0
    declare -F ergon_apt_install >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"
    ergon_apt_install postgresql || return 1
    ergon_postgres_bin >/dev/null || {
        echo "ergon: postgresql is installed but no /usr/lib/postgresql/*/bin/initdb exists" >&2
        return 1
    }
}

# Runs a command as the cluster's owner: `postgres` when this shell is root, else this user. The
# command runs from the state directory, which the owner can enter (root's cwd may be closed to it).
ergon_postgres_as() {
    if [ "$(id -u)" = "0" ]; then
        (cd "$ERGON_POSTGRES_STATE_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$ERGON_POSTGRES_STATE_DIR" && "$@")
    fi
}

# Prints the pid in the cluster's postmaster.pid while it still is a live postgres.
ergon_postgres_running_pid() {
    local pid
    pid="$(head -n 1 "$ERGON_POSTGRES_STATE_DIR/data/postmaster.pid" 2>/dev/null)" || return 1
    # /proc rather than kill -0: a non-root shell may not signal a postgres-owned process.
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && grep -q postgres "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

# Prints line LINE of the cluster's postmaster.pid (4: port, 5: socket directory).
ergon_postgres_pid_line() {
    sed -n "${1}p" "$ERGON_POSTGRES_STATE_DIR/data/postmaster.pid" 2>/dev/null
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
ergon_postgres_port_taken() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' ergon-port "$1" 2>/dev/null
}

# Waits up to 30 s for the cluster to accept connections on 127.0.0.1:PORT.
ergon_postgres_wait() {
    local bin="$1" port="$2" waited=0
    while ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; do
        if [ "$waited" -ge 60 ]; then
            echo "ergon: PostgreSQL did not answer on 127.0.0.1:$port within 30 s; the end of" \
                "$ERGON_POSTGRES_STATE_DIR/postgres.log:" >&2
            tail -n 20 "$ERGON_POSTGRES_STATE_DIR/postgres.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
}

# Makes sure a PostgreSQL answers and its variables are exported (see the header).
ergon_postgres_up() {
    if [ -n "${ERGON_TEST_POSTGRES_URL:-}" ]; then
        local psql bin
        if bin="$(ergon_postgres_bin)"; then
            psql="$bin/psql"
        else
            command -v psql >/dev/null 2>&1 || ergon_apt_install postgresql-client || return 1
            psql=psql
        fi
        # -w: never prompt; the password comes from the URL or PGPASSWORD.
        if PGCONNECT_TIMEOUT=5 "$psql" -w -X -A -t -q -c 'SELECT 1' "$ERGON_TEST_POSTGRES_URL" >/dev/null 2>&1 </dev/null; then
            export ERGON_TEST_POSTGRES_URL
            [ -z "${PGPASSWORD:-}" ] || export PGPASSWORD
            return 0
        fi
        echo "ergon: ERGON_TEST_POSTGRES_URL=$ERGON_TEST_POSTGRES_URL does not answer SELECT 1;" \
            "using a local cluster in $ERGON_POSTGRES_STATE_DIR instead" >&2
    fi
    ergon_postgres_install || {
        echo "ergon: could not install postgresql" >&2
        return 1
    }
    mkdir -p "$ERGON_POSTGRES_STATE_DIR" || return 1
    if [ "$(id -u)" = "0" ]; then
        # The postgres user writes its log and socket here, and must reach the cluster inside.
        chown postgres:postgres "$ERGON_POSTGRES_STATE_DIR" && chmod 0755 "$ERGON_POSTGRES_STATE_DIR" || return 1
        if ! runuser -u postgres -- test -w "$ERGON_POSTGRES_STATE_DIR" -a -x "$ERGON_POSTGRES_STATE_DIR"; then
            echo "ergon: the postgres user cannot reach $ERGON_POSTGRES_STATE_DIR (a parent directory is" \
                "closed to it); set ERGON_POSTGRES_STATE_DIR to a directory under /tmp" >&2
            return 1
        fi
    fi
    # One shell at a time: a second one waits, then finds the cluster the first one started.
    local lock rc=0
    exec {lock}>>"$ERGON_POSTGRES_STATE_DIR/lock" || return 1
    if ! flock -w 120 "$lock"; then
        echo "ergon: another shell holds $ERGON_POSTGRES_STATE_DIR/lock for over 120 s" >&2
        exec {lock}>&-
        return 1
    fi
    ergon_postgres_up_locked "$lock" || rc=$?
    exec {lock}>&-
    return "$rc"
}

# The body of ergon_postgres_up, run while holding the lock on file descriptor LOCK.
ergon_postgres_up_locked() {
    local lock="$1" dir="$ERGON_POSTGRES_STATE_DIR" port="$ERGON_POSTGRES_PORT"
    local data="$ERGON_POSTGRES_STATE_DIR/data" log="$ERGON_POSTGRES_STATE_DIR/postgres.log"
    local bin version pid
    bin="$(ergon_postgres_bin)" || return 1
    if [ -f "$data/PG_VERSION" ]; then
        # A cluster only runs under the major version that made it.
        version="$(cat "$data/PG_VERSION")"
        bin="/usr/lib/postgresql/$version/bin"
        if ! [ -x "$bin/pg_ctl" ]; then
            echo "ergon: the cluster in $data was made by PostgreSQL $version, which is not installed;" \
                "remove $dir to make a new one" >&2
            return 1
        fi
    fi
    if pid="$(ergon_postgres_running_pid)"; then
        # Started by an earlier run or another shell: reuse it, but it is not ours to stop.
        local running_port
        running_port="$(ergon_postgres_pid_line 4)"
        if [ "$running_port" != "$port" ]; then
            echo "ergon: the cluster in $data (pid $pid) runs on port $running_port, not $port; stop it with" \
                "\`runuser -u postgres -- $bin/pg_ctl -D $data -m fast stop\`, or set ERGON_POSTGRES_PORT=$running_port" >&2
            return 1
        fi
        echo "ergon: reusing the PostgreSQL already running from $data (pid $pid) on 127.0.0.1:$port" >&2
        ergon_postgres_wait "$bin" "$port" || return 1
    else
        if ergon_postgres_port_taken "$port"; then
            echo "ergon: something that this script did not start already listens on 127.0.0.1:$port;" \
                "set ERGON_POSTGRES_PORT to a free port, or ERGON_TEST_POSTGRES_URL to use that server" >&2
            return 1
        fi
        if ! [ -f "$data/PG_VERSION" ]; then
            rm -rf "$data"
            echo "ergon: creating a PostgreSQL cluster in $data" >&2
            ergon_postgres_as "$bin/initdb" -D "$data" --no-locale --encoding=UTF8 \
                --auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
                echo "ergon: initdb failed; the end of $dir/initdb.log:" >&2
                tail -n 20 "$dir/initdb.log" >&2
                rm -rf "$data"
                return 1
            }
            # Tests only: fsync and synchronous_commit off trade crash safety for speed; a crash
            # may lose or corrupt this throwaway cluster, never anything else.
            ergon_postgres_as tee -a "$data/postgresql.conf" >/dev/null <<EOF || return 1

# Added by Scripts/lib/postgres.sh: a throwaway cluster for Ergon's tests.
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = off
synchronous_commit = off
EOF
        fi
        echo "ergon: starting PostgreSQL on 127.0.0.1:$port (log: $log)" >&2
        rm -f "$dir/started.pid" "$dir/env"
        # -p and -k on the command line so the port follows ERGON_POSTGRES_PORT; the postmaster
        # must not inherit the lock, or it would hold it for as long as it runs.
        if ! ergon_postgres_as "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 \
            -o "-p $port -k '$dir'" start >/dev/null {lock}>&-; then
            echo "ergon: PostgreSQL did not start on 127.0.0.1:$port; the end of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        pid="$(ergon_postgres_running_pid)" || {
            echo "ergon: PostgreSQL started but $data/postmaster.pid names no live postgres; see $log" >&2
            return 1
        }
        echo "$pid" >"$dir/started.pid"
        ERGON_POSTGRES_STARTED_HERE=1
        ergon_postgres_wait "$bin" "$port" || {
            ergon_postgres_down
            return 1
        }
    fi
    # The test role, through the socket as the cluster's owner (peer); idempotent.
    if ! ergon_postgres_as "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres >/dev/null <<EOF; then
SELECT 'CREATE ROLE $ERGON_POSTGRES_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ERGON_POSTGRES_USER')
\gexec
ALTER ROLE $ERGON_POSTGRES_USER WITH LOGIN SUPERUSER CREATEDB PASSWORD '$ERGON_POSTGRES_PASSWORD';
EOF
        echo "ergon: could not create the role $ERGON_POSTGRES_USER in the cluster in $data" >&2
        return 1
    fi
    local url="postgres://$ERGON_POSTGRES_USER@127.0.0.1:$port/postgres"
    printf 'export ERGON_TEST_POSTGRES_URL=%s PGPASSWORD=%s\n' "$url" "$ERGON_POSTGRES_PASSWORD" >"$dir/env.tmp" &&
        mv "$dir/env.tmp" "$dir/env" || return 1
    source "$dir/env"
    if ! PGCONNECT_TIMEOUT=5 "$bin/psql" -w -X -A -t -q -c 'SELECT 1' "$url" >/dev/null </dev/null; then
        echo "ergon: the role $ERGON_POSTGRES_USER cannot sign in to $url" >&2
        return 1
    fi
    echo "ergon: PostgreSQL on $url (variables: source $dir/env)" >&2
}

# Runs psql against $ERGON_TEST_POSTGRES_URL; extra arguments go to psql.
ergon_postgres_psql() {
    [ -n "${ERGON_TEST_POSTGRES_URL:-}" ] || {
        echo "ergon: ERGON_TEST_POSTGRES_URL is not set; run ergon_postgres_up first" >&2
        return 1
    }
    local psql=psql bin
    bin="$(ergon_postgres_bin)" && psql="$bin/psql"
    "$psql" -X "$ERGON_TEST_POSTGRES_URL" "$@"
}

# Stops the cluster ergon_postgres_up started in this shell (and only that one); waits for it to exit.
ergon_postgres_down() {
    [ "${ERGON_POSTGRES_STARTED_HERE:-0}" = "1" ] || return 0
    local dir="$ERGON_POSTGRES_STATE_DIR" data="$ERGON_POSTGRES_STATE_DIR/data" pid recorded version
    recorded="$(cat "$dir/started.pid" 2>/dev/null)" || recorded=""
    # The server may have been restarted by someone else since: only stop the postmaster we started.
    if pid="$(ergon_postgres_running_pid)" && [ "$pid" = "$recorded" ]; then
        version="$(cat "$data/PG_VERSION")"
        echo "ergon: stopping PostgreSQL (pid $pid)" >&2
        ergon_postgres_as "/usr/lib/postgresql/$version/bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || {
            echo "ergon: could not stop PostgreSQL (pid $pid); see $dir/postgres.log" >&2
        }
    fi
    if [ "${ERGON_TEST_POSTGRES_URL:-}" = "postgres://$ERGON_POSTGRES_USER@127.0.0.1:$ERGON_POSTGRES_PORT/postgres" ]; then
        unset ERGON_TEST_POSTGRES_URL
        [ "${PGPASSWORD:-}" != "$ERGON_POSTGRES_PASSWORD" ] || unset PGPASSWORD
    fi
    rm -f "$dir/started.pid" "$dir/env"
    ERGON_POSTGRES_STARTED_HERE=0
}
