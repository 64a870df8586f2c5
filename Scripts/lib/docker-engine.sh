#!/usr/bin/env bash
# Sourceable helpers that make sure a Docker engine answers on /var/run/docker.sock.
#
#   source Scripts/lib/docker-engine.sh
#   ergon_docker_start   # no-op when an engine already answers; else installs and starts dockerd
#   ergon_docker_stop    # stops only the dockerd this file started (by its recorded pid)
#
# State (the pid of the dockerd we started, its log) lives in ERGON_DOCKER_STATE_DIR
# (default /tmp/ergon-docker). The engine runs without a bridge so no container ever
# gets a private-range address (see TESTBED.md).

ERGON_DOCKER_SOCKET="${ERGON_DOCKER_SOCKET:-/var/run/docker.sock}"
ERGON_DOCKER_STATE_DIR="${ERGON_DOCKER_STATE_DIR:-/tmp/ergon-docker}"

# True when the engine answers GET /_ping on the socket.
ergon_docker_ping() {
    [ -S "$ERGON_DOCKER_SOCKET" ] || return 1
    [ "$(curl -s --max-time 3 --unix-socket "$ERGON_DOCKER_SOCKET" http://localhost/_ping 2>/dev/null)" = "OK" ]
}

# Installs docker.io and busybox-static when dockerd is missing.
ergon_docker_install() {
    if command -v dockerd >/dev/null 2>&1 && [ -x /bin/busybox ]; then
        return 0
    fi
    echo "ergon: installing docker.io and busybox-static" >&2
    local sudo=""
    [ "$(id -u)" = "0" ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io busybox-static >&2 || return 1
}

# Starts dockerd in the background unless an engine already answers; waits up to 60 s for it.
ergon_docker_start() {
    command -v curl >/dev/null 2>&1 || {
        echo "ergon: curl is needed to talk to the Docker engine" >&2
        return 1
    }
    if ergon_docker_ping; then
        return 0
    fi
    ergon_docker_install || {
        echo "ergon: could not install docker.io" >&2
        return 1
    }
    mkdir -p "$ERGON_DOCKER_STATE_DIR"
    local pidfile="$ERGON_DOCKER_STATE_DIR/dockerd.pid"
    local log="$ERGON_DOCKER_STATE_DIR/dockerd.log"
    local pid=""
    if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        # A recorded dockerd that is still alive is starting up: wait for it rather than start another.
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
            :
        else
            pid=""
            rm -f "$pidfile"
        fi
    fi
    if [ -z "$pid" ]; then
        echo "ergon: starting dockerd (log: $log)" >&2
        local sudo=""
        [ "$(id -u)" = "0" ] || sudo="sudo"
        $sudo dockerd --host "unix://$ERGON_DOCKER_SOCKET" --bridge=none --iptables=false --ip6tables=false \
            >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pidfile"
    fi
    local waited=0
    while ! ergon_docker_ping; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ergon: dockerd exited while starting; the end of $log:" >&2
            tail -n 20 "$log" >&2
            rm -f "$pidfile"
            return 1
        fi
        if [ "$waited" -ge 120 ]; then
            echo "ergon: dockerd did not answer on $ERGON_DOCKER_SOCKET within 60 s; see $log" >&2
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    return 0
}

# Stops the dockerd that ergon_docker_start started (and only that one); waits for it to exit.
ergon_docker_stop() {
    local pidfile="$ERGON_DOCKER_STATE_DIR/dockerd.pid"
    [ -f "$pidfile" ] || return 0
    local pid
    pid="$(cat "$pidfile")"
    # The pid may have been reused since: only signal it while it still is the dockerd we started.
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { [ ! -r "/proc/$pid/cmdline" ] || grep -q dockerd "/proc/$pid/cmdline"; }; then
        kill -TERM "$pid" 2>/dev/null
        local waited=0
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$waited" -ge 60 ]; then
                echo "ergon: dockerd (pid $pid) did not stop within 30 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
    fi
    rm -f "$pidfile"
    return 0
}
