#!/usr/bin/env bash
# Sourceable: installs the Debian packages the build, the tests and the demo need, only
# those that are missing (the build needs SQLite's headers for GRDB; the scripts need curl;
# .tar.zst resources are unpacked with zstd).

# Installs each named Debian package that is not installed yet.
ergon_apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "ergon: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" = "0" ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

# Everything Ergon's build and its Docker-backed tests need.
ergon_prerequisites() {
    ergon_apt_install libsqlite3-dev curl docker.io busybox-static zstd
}

# Starts a Docker engine when none answers, and records in ERGON_DOCKER_STARTED_HERE
# whether this shell started it, so it stops only an engine it started itself.
ergon_engine_up() {
    ERGON_DOCKER_STARTED_HERE=0
    if ! ergon_docker_ping; then
        ergon_docker_start || return 1
        ERGON_DOCKER_STARTED_HERE=1
    fi
}

# Stops the engine if this shell started it.
ergon_engine_down() {
    if [ "${ERGON_DOCKER_STARTED_HERE:-0}" = "1" ]; then
        ergon_docker_stop
        ERGON_DOCKER_STARTED_HERE=0
    fi
}
