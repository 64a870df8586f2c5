#!/usr/bin/env bash
# Sourceable: the official Vast CLI (vastai 1.9.1 from PyPI) in a virtual environment under
# .build/, the reference for Ergon's query parser and the client that checks the simulator.

ERGON_VASTAI_VERSION=1.9.1
ERGON_VASTAI_VENV="${ERGON_VASTAI_VENV:-.build/vastai-venv}"

# Creates the environment when it is missing or holds another version, then exports
# ERGON_VASTAI_PYTHON and ERGON_VASTAI_BIN for the tests.
ergon_vastai() {
    local python="$ERGON_VASTAI_VENV/bin/python"
    if ! "$python" -c "import importlib.metadata as m, sys; sys.exit(m.version('vastai') != '$ERGON_VASTAI_VERSION')" 2>/dev/null; then
        echo "ergon: installing vastai==$ERGON_VASTAI_VERSION into $ERGON_VASTAI_VENV" >&2
        mkdir -p "$(dirname "$ERGON_VASTAI_VENV")"
        if ! python3 -m venv "$ERGON_VASTAI_VENV" >&2 2>/dev/null; then
            # Debian's own python3 keeps venv in a separate package.
            rm -rf "$ERGON_VASTAI_VENV"
            ergon_apt_install python3-venv || return 1
            python3 -m venv "$ERGON_VASTAI_VENV" >&2 || return 1
        fi
        "$ERGON_VASTAI_VENV/bin/pip" install -q --disable-pip-version-check "vastai==$ERGON_VASTAI_VERSION" >&2 || return 1
    fi
    ERGON_VASTAI_PYTHON="$(cd "$(dirname "$python")" && pwd)/python"
    ERGON_VASTAI_BIN="$(cd "$(dirname "$python")" && pwd)/vastai"
    export ERGON_VASTAI_PYTHON ERGON_VASTAI_BIN
}
