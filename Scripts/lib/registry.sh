#!/usr/bin/env bash
# Sourceable helpers for the private-registry tests: Debian's docker-registry (distribution
# 2.8) on loopback, and a test image with a known entrypoint pushed into it.
#
#   source Scripts/lib/prerequisites.sh   # for ergon_apt_install
#   source Scripts/lib/registry.sh
#   ergon_registry_up          # no-op for each registry that already answers; else installs and starts it
#   ergon_registry_test_image  # pushes $ERGON_REGISTRY_TEST_IMAGE (needs a Docker engine)
#   ergon_registry_shell_images # pushes the images of the /bin/sh check (needs a Docker engine)
#   ergon_registry_down        # stops only the registries this shell started (by their recorded pids)
#
# Two registries share one storage directory: an open one on 127.0.0.1:5000 (pushed to; dockerd
# allows plain HTTP to loopback registries) and one on 127.0.0.1:5001 that asks for HTTP Basic
# credentials ($ERGON_REGISTRY_AUTH_USER / $ERGON_REGISTRY_AUTH_PASSWORD, test-only values), so
# authenticated reads are tested without a `docker login`. State (configs, storage, pids, logs)
# lives in ERGON_REGISTRY_STATE_DIR (default /tmp/ergon-registry).

ERGON_REGISTRY_STATE_DIR="${ERGON_REGISTRY_STATE_DIR:-/tmp/ergon-registry}"
ERGON_REGISTRY_ADDR="${ERGON_REGISTRY_ADDR:-127.0.0.1:5000}"
ERGON_REGISTRY_AUTH_ADDR="${ERGON_REGISTRY_AUTH_ADDR:-127.0.0.1:5001}"
ERGON_REGISTRY_AUTH_USER="${ERGON_REGISTRY_AUTH_USER:-ergon}"
ERGON_REGISTRY_AUTH_PASSWORD="${ERGON_REGISTRY_AUTH_PASSWORD:-ergon-registry-test}"
ERGON_REGISTRY_TEST_IMAGE="${ERGON_REGISTRY_TEST_IMAGE:-$ERGON_REGISTRY_ADDR/ergon-test/entry:1}"
# Images for the /bin/sh check at submit: one without a shell, and one whose second layer adds it.
ERGON_REGISTRY_NOSHELL_IMAGE="$ERGON_REGISTRY_ADDR/ergon-test/noshell:1"
ERGON_REGISTRY_LATESHELL_IMAGE="$ERGON_REGISTRY_ADDR/ergon-test/lateshell:1"

# True when something answers HTTP on http://ADDR/v2/ (200, or 401 from one that asks for credentials).
ergon_registry_ping() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$1/v2/" 2>/dev/null)"
    [ "$code" = "200" ] || [ "$code" = "401" ]
}

# Installs docker-registry and apache2-utils (htpasswd) when missing.
ergon_registry_install() {
    ergon_apt_install docker-registry apache2-utils
}

# Writes the config of registry NAME listening on ADDR; a third argument "auth" adds htpasswd auth.
ergon_registry_config() {
    local name="$1" addr="$2" auth="${3:-}"
    local dir="$ERGON_REGISTRY_STATE_DIR"
    {
        echo "version: 0.1"
        echo "log:"
        echo "  level: warn"
        echo "storage:"
        echo "  filesystem:"
        echo "    rootdirectory: $dir/storage"
        echo "  delete:"
        echo "    enabled: true"
        echo "http:"
        echo "  addr: $addr"
        if [ "$auth" = "auth" ]; then
            echo "auth:"
            echo "  htpasswd:"
            echo "    realm: ergon-test"
            echo "    path: $dir/htpasswd"
        fi
    } >"$dir/$name.yml"
}

# Starts registry NAME on ADDR unless something answers there; records its pid in NAME.pid and
# appends NAME to ERGON_REGISTRY_STARTED_HERE. Waits up to 30 s for it to answer.
ergon_registry_start_one() {
    local name="$1" addr="$2" auth="${3:-}"
    local dir="$ERGON_REGISTRY_STATE_DIR"
    ergon_registry_ping "$addr" && return 0
    local pidfile="$dir/$name.pid" log="$dir/$name.log" pid=""
    if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        # A recorded registry that is still alive is starting up: wait for it rather than start another.
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || ! grep -q docker-registry "/proc/$pid/cmdline" 2>/dev/null; then
            pid=""
            rm -f "$pidfile"
        fi
    fi
    if [ -z "$pid" ]; then
        ergon_registry_config "$name" "$addr" "$auth"
        echo "ergon: starting docker-registry on $addr (log: $log)" >&2
        docker-registry serve "$dir/$name.yml" >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pidfile"
        ERGON_REGISTRY_STARTED_HERE="${ERGON_REGISTRY_STARTED_HERE:-} $name"
    fi
    local waited=0
    while ! ergon_registry_ping "$addr"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ergon: docker-registry on $addr exited while starting; the end of $log:" >&2
            tail -n 20 "$log" >&2
            rm -f "$pidfile"
            return 1
        fi
        if [ "$waited" -ge 60 ]; then
            echo "ergon: docker-registry did not answer on $addr within 30 s; see $log" >&2
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
}

# Starts the open registry and the one asking for credentials, each only if nothing answers on its address.
ergon_registry_up() {
    command -v curl >/dev/null 2>&1 || {
        echo "ergon: curl is needed to reach the registry" >&2
        return 1
    }
    if ergon_registry_ping "$ERGON_REGISTRY_ADDR" && ergon_registry_ping "$ERGON_REGISTRY_AUTH_ADDR"; then
        return 0
    fi
    ergon_registry_install || {
        echo "ergon: could not install docker-registry" >&2
        return 1
    }
    mkdir -p "$ERGON_REGISTRY_STATE_DIR/storage"
    htpasswd -Bbn "$ERGON_REGISTRY_AUTH_USER" "$ERGON_REGISTRY_AUTH_PASSWORD" >"$ERGON_REGISTRY_STATE_DIR/htpasswd" || return 1
    ergon_registry_start_one registry "$ERGON_REGISTRY_ADDR" || return 1
    ergon_registry_start_one registry-auth "$ERGON_REGISTRY_AUTH_ADDR" auth || return 1
}

# Stops the registries ergon_registry_up started in this shell (and only those); waits for them to exit.
ergon_registry_down() {
    local name pid pidfile waited
    for name in ${ERGON_REGISTRY_STARTED_HERE:-}; do
        pidfile="$ERGON_REGISTRY_STATE_DIR/$name.pid"
        [ -f "$pidfile" ] || continue
        pid="$(cat "$pidfile")"
        # The pid may have been reused since: only signal it while it still is the registry we started.
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q docker-registry "/proc/$pid/cmdline" 2>/dev/null; then
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
        rm -f "$pidfile"
    done
    ERGON_REGISTRY_STARTED_HERE=""
}

# Pushes ERGON_REGISTRY_TEST_IMAGE, unless the registry already has it: the files of the offline
# test image (ergon_test_image) with ENTRYPOINT ["/bin/echo","from-entrypoint"], CMD ["x"] and
# WORKDIR /tmp, which the tests read back from the registry.
ergon_registry_test_image() {
    local repository="${ERGON_REGISTRY_TEST_IMAGE#*/}"
    local name="${repository%:*}" tag="${repository##*:}"
    local accept="application/vnd.docker.distribution.manifest.v2+json"
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Accept: $accept" \
        "http://$ERGON_REGISTRY_ADDR/v2/$name/manifests/$tag")" = "200" ]; then
        return 0
    fi
    declare -F ergon_test_image >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/test-image.sh"
    ergon_test_image || return 1
    local container rc=0
    container="$(docker create "$ERGON_TEST_IMAGE")" || return 1
    docker export "$container" | docker import \
        --change 'ENV PATH=/bin' \
        --change 'ENTRYPOINT ["/bin/echo","from-entrypoint"]' \
        --change 'CMD ["x"]' \
        --change 'WORKDIR /tmp' \
        - "$ERGON_REGISTRY_TEST_IMAGE" >/dev/null || rc=1
    docker rm "$container" >/dev/null 2>&1
    if [ "$rc" -eq 0 ]; then
        docker push "$ERGON_REGISTRY_TEST_IMAGE" >/dev/null || rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        echo "ergon: could not push $ERGON_REGISTRY_TEST_IMAGE" >&2
        return 1
    fi
    echo "ergon: pushed $ERGON_REGISTRY_TEST_IMAGE" >&2
}

# True when the open registry has NAME:TAG (given as ADDR/NAME:TAG).
ergon_registry_has() {
    local repository="${1#*/}"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
        "http://$ERGON_REGISTRY_ADDR/v2/${repository%:*}/manifests/${repository##*:}")" = "200" ]
}

# Pushes the two images of the /bin/sh check, unless the registry has them: NOSHELL, one layer
# holding only a static binary (/hello, busybox's), and LATESHELL, NOSHELL with a second layer
# that adds /bin/busybox and /bin/sh -> busybox.
ergon_registry_shell_images() {
    ergon_registry_has "$ERGON_REGISTRY_NOSHELL_IMAGE" && ergon_registry_has "$ERGON_REGISTRY_LATESHELL_IMAGE" && return 0
    local dir container="" rc=0
    dir="$(mktemp -d)" || return 1
    mkdir -p "$dir/root" "$dir/layer/bin"
    cp /bin/busybox "$dir/root/hello" && cp /bin/busybox "$dir/layer/bin/busybox" && ln -s busybox "$dir/layer/bin/sh" || rc=1
    if [ "$rc" -eq 0 ]; then
        tar -C "$dir/root" -c . | docker import --change 'ENTRYPOINT ["/hello"]' --change 'CMD ["echo","hi"]' \
            - "$ERGON_REGISTRY_NOSHELL_IMAGE" >/dev/null || rc=1
    fi
    if [ "$rc" -eq 0 ]; then
        container="$(docker create "$ERGON_REGISTRY_NOSHELL_IMAGE")" || rc=1
    fi
    if [ "$rc" -eq 0 ]; then
        docker cp "$dir/layer/bin" "$container:/" && docker commit "$container" "$ERGON_REGISTRY_LATESHELL_IMAGE" >/dev/null || rc=1
    fi
    [ -n "$container" ] && docker rm "$container" >/dev/null 2>&1
    rm -rf "$dir"
    if [ "$rc" -eq 0 ]; then
        docker push "$ERGON_REGISTRY_NOSHELL_IMAGE" >/dev/null && docker push "$ERGON_REGISTRY_LATESHELL_IMAGE" >/dev/null || rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        echo "ergon: could not push the images of the /bin/sh check" >&2
        return 1
    fi
    echo "ergon: pushed $ERGON_REGISTRY_NOSHELL_IMAGE and $ERGON_REGISTRY_LATESHELL_IMAGE" >&2
}
