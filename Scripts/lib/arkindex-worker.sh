#!/usr/bin/env bash
# Sourceable: the real worker side, arkindex-base-worker 0.6.0 from PyPI (with arkindex-client),
# in a virtual environment under .build/. The tests run its bootstrap and its artifact upload
# against a running agent's worker API, with the environment a vast-mode task receives.

ERGON_ARKINDEX_WORKER_VERSION=0.6.0
ERGON_ARKINDEX_VENV="${ERGON_ARKINDEX_VENV:-.build/arkindex-venv}"

# Creates the environment when it is missing or holds another version, installs libmagic (the
# worker's python-magic needs it) when missing, then exports ERGON_ARKINDEX_PYTHON.
ergon_arkindex_worker() {
    local python="$ERGON_ARKINDEX_VENV/bin/python"
    ergon_apt_install libmagic1 || return 1
    if ! "$python" -c "import importlib.metadata as m, sys; sys.exit(m.version('arkindex-base-worker') != '$ERGON_ARKINDEX_WORKER_VERSION')" 2>/dev/null; then
        echo "ergon: installing arkindex-base-worker==$ERGON_ARKINDEX_WORKER_VERSION into $ERGON_ARKINDEX_VENV" >&2
        mkdir -p "$(dirname "$ERGON_ARKINDEX_VENV")"
        if ! python3 -m venv "$ERGON_ARKINDEX_VENV" >&2 2>/dev/null; then
            rm -rf "$ERGON_ARKINDEX_VENV"
            ergon_apt_install python3-venv || return 1
            python3 -m venv "$ERGON_ARKINDEX_VENV" >&2 || return 1
        fi
        "$ERGON_ARKINDEX_VENV/bin/pip" install -q --disable-pip-version-check \
            "arkindex-base-worker==$ERGON_ARKINDEX_WORKER_VERSION" >&2 || return 1
    fi
    ERGON_ARKINDEX_PYTHON="$(cd "$(dirname "$python")" && pwd)/python"
    export ERGON_ARKINDEX_PYTHON
}
