#!/usr/bin/env bash
# Sourceable: a local S3 that checks SigV4 signatures, for the S3 tests. moto_server (moto 5.2.1)
# runs from a virtual environment under .build/ and serves S3 and IAM on loopback.
#
#   source Scripts/lib/s3.sh
#   ergon_s3_tools   # the venv with moto[server], boto3 and the AWS CLI (versions pinned below);
#                    # exports ERGON_S3_PYTHON, ERGON_MOTO_SERVER, ERGON_AWS_CLI
#   ergon_s3_up      # no-op when $ERGON_S3_ENDPOINT answers; else starts moto_server on
#                    # 127.0.0.1:$ERGON_S3_PORT (default 5100) and exports ERGON_S3_ENDPOINT,
#                    # ERGON_S3_REGION, ERGON_S3_ACCESS_KEY_ID, ERGON_S3_SECRET_ACCESS_KEY
#   ergon_s3_down    # stops moto_server only if this shell started it (by its recorded pid)
#
# moto lets the first INITIAL_NO_AUTH_ACTION_COUNT requests through unsigned and checks every later
# signature. Scripts/lib/s3-setup.py spends exactly those requests on an IAM user, its access key
# and an allow-all policy, then proves a wrong secret gets 403. State (pid, log, and `env`, a
# sourceable file with the variables above) lives in ERGON_S3_STATE_DIR (default /tmp/ergon-s3);
# the server runs in its own session, so it outlives the shell that started it.

ERGON_S3_MOTO_VERSION=5.2.1
ERGON_S3_BOTO3_VERSION=1.43.11
# awscli 1.45.11 pins botocore 1.43.11, the botocore boto3 1.43.11 is made for.
ERGON_S3_AWSCLI_VERSION=1.45.11
# moto checks a signature against the URL as werkzeug hands it over, and werkzeug 2.3 and later
# decode %2F and %3A in the query: every listing with a prefix holding "/" then fails with
# SignatureDoesNotMatch, whoever signed it (getmoto/moto#5948). 2.2.3 keeps them encoded; Flask
# 3 needs werkzeug 3, hence Flask 2.2.5.
ERGON_S3_WERKZEUG_VERSION=2.2.3
ERGON_S3_FLASK_VERSION=2.2.5
ERGON_S3_VENV="${ERGON_S3_VENV:-.build/s3-venv}"
ERGON_S3_STATE_DIR="${ERGON_S3_STATE_DIR:-/tmp/ergon-s3}"
ERGON_S3_PORT="${ERGON_S3_PORT:-5100}"
ERGON_S3_SETUP_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/s3-setup.py"

# Creates the environment when it is missing or holds other versions, then exports its python,
# moto_server and aws as absolute paths.
ergon_s3_tools() {
    local venv="$ERGON_S3_VENV"
    local check="import importlib.metadata as m, importlib.util as u, sys
want = {'moto': '$ERGON_S3_MOTO_VERSION', 'boto3': '$ERGON_S3_BOTO3_VERSION', 'awscli': '$ERGON_S3_AWSCLI_VERSION',
        'werkzeug': '$ERGON_S3_WERKZEUG_VERSION', 'flask': '$ERGON_S3_FLASK_VERSION'}
sys.exit(any(m.version(n) != v for n, v in want.items()) or u.find_spec('flask_cors') is None)"
    if ! [ -x "$venv/bin/moto_server" ] || ! [ -x "$venv/bin/aws" ] || ! "$venv/bin/python" -c "$check" 2>/dev/null; then
        echo "ergon: installing moto[server]==$ERGON_S3_MOTO_VERSION boto3==$ERGON_S3_BOTO3_VERSION" \
            "awscli==$ERGON_S3_AWSCLI_VERSION werkzeug==$ERGON_S3_WERKZEUG_VERSION into $venv" >&2
        mkdir -p "$(dirname "$venv")"
        if ! [ -x "$venv/bin/pip" ] && ! python3 -m venv "$venv" >&2 2>/dev/null; then
            # Debian's own python3 keeps venv in a separate package.
            rm -rf "$venv"
            declare -F ergon_apt_install >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prerequisites.sh"
            ergon_apt_install python3-venv || return 1
            python3 -m venv "$venv" >&2 || return 1
        fi
        "$venv/bin/pip" install -q --disable-pip-version-check \
            "moto[server]==$ERGON_S3_MOTO_VERSION" "boto3==$ERGON_S3_BOTO3_VERSION" \
            "awscli==$ERGON_S3_AWSCLI_VERSION" "werkzeug==$ERGON_S3_WERKZEUG_VERSION" \
            "flask==$ERGON_S3_FLASK_VERSION" >&2 || {
            echo "ergon: could not install the S3 test tools into $venv" >&2
            return 1
        }
    fi
    local bin
    bin="$(cd "$venv/bin" && pwd)" || return 1
    ERGON_S3_PYTHON="$bin/python"
    ERGON_MOTO_SERVER="$bin/moto_server"
    ERGON_AWS_CLI="$bin/aws"
    export ERGON_S3_PYTHON ERGON_MOTO_SERVER ERGON_AWS_CLI
}

# True when something answers HTTP at URL (any status).
ergon_s3_answers() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null)"
    [ -n "$code" ] && [ "$code" != "000" ]
}

# True when nothing listens on 127.0.0.1:PORT (curl's exit status 7: connection refused).
ergon_s3_port_free() {
    local status=0
    curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$1/moto-api/" 2>/dev/null || status=$?
    [ "$status" -eq 7 ]
}

# Prints the pid recorded in the state directory while it still is a live moto_server.
ergon_s3_recorded_pid() {
    local pid
    pid="$(cat "$ERGON_S3_STATE_DIR/moto.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

# Makes sure a set-up moto_server answers and its variables are exported (see the header).
ergon_s3_up() {
    command -v curl >/dev/null 2>&1 || {
        echo "ergon: curl is needed to reach the S3 server" >&2
        return 1
    }
    # moto serves its own API under /moto-api/; another S3 answers there too (403 or 404), and an
    # unsigned S3 request would fill moto's log with a KeyError trace (moto 5.2.1 answers it 500).
    if [ -n "${ERGON_S3_ENDPOINT:-}" ] && ergon_s3_answers "${ERGON_S3_ENDPOINT%/}/moto-api/"; then
        if [ -z "${ERGON_S3_ACCESS_KEY_ID:-}" ] || [ -z "${ERGON_S3_SECRET_ACCESS_KEY:-}" ]; then
            echo "ergon: ERGON_S3_ENDPOINT=$ERGON_S3_ENDPOINT answers but ERGON_S3_ACCESS_KEY_ID or ERGON_S3_SECRET_ACCESS_KEY is not set" >&2
            return 1
        fi
        export ERGON_S3_ENDPOINT ERGON_S3_REGION="${ERGON_S3_REGION:-us-east-1}" ERGON_S3_ACCESS_KEY_ID ERGON_S3_SECRET_ACCESS_KEY
        return 0
    fi
    mkdir -p "$ERGON_S3_STATE_DIR" || return 1
    # One shell at a time: a second one waits, then finds the server the first one started.
    local lock rc=0
    exec {lock}>"$ERGON_S3_STATE_DIR/lock" || return 1
    if ! flock -w 120 "$lock"; then
        echo "ergon: another shell holds $ERGON_S3_STATE_DIR/lock for over 120 s" >&2
        exec {lock}>&-
        return 1
    fi
    ergon_s3_up_locked "$lock" || rc=$?
    exec {lock}>&-
    return "$rc"
}

# The body of ergon_s3_up, run while holding the lock on file descriptor LOCK.
ergon_s3_up_locked() {
    local lock="$1" dir="$ERGON_S3_STATE_DIR" port="$ERGON_S3_PORT"
    local endpoint="http://127.0.0.1:$port" pid
    # moto's own API does not count against the unauthenticated requests, so it is safe to probe.
    local probe="$endpoint/moto-api/"
    if pid="$(ergon_s3_recorded_pid)"; then
        if [ -f "$dir/env" ] && grep -q "ERGON_S3_ENDPOINT=$endpoint " "$dir/env" && ergon_s3_answers "$probe"; then
            source "$dir/env"
            return 0
        fi
        echo "ergon: moto_server (pid $pid) recorded in $dir/moto.pid is not a set-up server on $endpoint" \
            "(see $dir/env and $dir/moto.log); stop it with \`kill $pid\`, or use another ERGON_S3_STATE_DIR" >&2
        return 1
    fi
    if ! ergon_s3_port_free "$port"; then
        echo "ergon: something that this script did not start already listens on 127.0.0.1:$port;" \
            "set ERGON_S3_PORT to a free port, or ERGON_S3_ENDPOINT and the ERGON_S3_* credentials to use that server" >&2
        return 1
    fi
    if [ -z "${ERGON_MOTO_SERVER:-}" ] || [ -z "${ERGON_S3_PYTHON:-}" ]; then
        ergon_s3_tools || return 1
    fi
    local count
    count="$("$ERGON_S3_PYTHON" "$ERGON_S3_SETUP_SCRIPT" --unauthenticated-calls)" || return 1
    rm -f "$dir/moto.pid" "$dir/env"
    echo "ergon: starting moto_server on 127.0.0.1:$port (log: $dir/moto.log)" >&2
    # setsid: its own session, so neither ^C nor the end of this shell stops it. The shell records
    # its pid and execs moto_server, so the recorded pid is the server's.
    # The subshell keeps it out of an interactive shell's job table; the server must not inherit
    # the lock, or it would hold it for as long as it runs.
    (INITIAL_NO_AUTH_ACTION_COUNT="$count" setsid bash -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1" && shift && exec "$@"' \
        ergon-s3 "$dir/moto.pid" "$ERGON_MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 </dev/null {lock}>&- &)
    ERGON_S3_STARTED_HERE=1
    local waited=0
    while ! ergon_s3_answers "$probe"; do
        pid="$(cat "$dir/moto.pid" 2>/dev/null)"
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "ergon: moto_server exited while starting; the end of $dir/moto.log:" >&2
            tail -n 20 "$dir/moto.log" >&2
            rm -f "$dir/moto.pid"
            ERGON_S3_STARTED_HERE=0
            return 1
        fi
        if [ "$waited" -ge 120 ]; then
            echo "ergon: moto_server did not answer on $endpoint within 60 s; see $dir/moto.log" >&2
            ergon_s3_down
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    if ! "$ERGON_S3_PYTHON" "$ERGON_S3_SETUP_SCRIPT" "$endpoint" "$dir/env" >/dev/null; then
        echo "ergon: could not set up moto_server on $endpoint; stopping it" >&2
        ergon_s3_down
        return 1
    fi
    source "$dir/env"
    echo "ergon: S3 with signature checks on $endpoint (variables: source $dir/env)" >&2
}

# Stops the moto_server ergon_s3_up started in this shell (and only that one); waits for it to exit.
ergon_s3_down() {
    [ "${ERGON_S3_STARTED_HERE:-0}" = "1" ] || return 0
    local dir="$ERGON_S3_STATE_DIR" pid waited
    # The pid may have been reused since: only signal it while it still is a moto_server.
    if pid="$(ergon_s3_recorded_pid)"; then
        kill -TERM "$pid" 2>/dev/null
        waited=0
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$waited" -ge 20 ]; then
                kill -KILL "$pid" 2>/dev/null
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
    fi
    if [ "${ERGON_S3_ENDPOINT:-}" = "http://127.0.0.1:$ERGON_S3_PORT" ]; then
        unset ERGON_S3_ENDPOINT ERGON_S3_REGION ERGON_S3_ACCESS_KEY_ID ERGON_S3_SECRET_ACCESS_KEY
    fi
    rm -f "$dir/moto.pid" "$dir/env"
    ERGON_S3_STARTED_HERE=0
}
