#!/usr/bin/env bash
# Sourceable: the `ergon` a benchmark measures.

# Sets `config` (ERGON_BENCH_BUILD, else $1) and `ergon`: ERGON_BENCH_ERGON when set (a binary
# built beforehand: `Scripts/bench all` builds once and runs every benchmark on that copy, so
# builds of other sources meanwhile change nothing), else a fresh `swift build -c $config`.
ergon_bench_build() {
    config="${ERGON_BENCH_BUILD:-$1}"
    if [ -n "${ERGON_BENCH_ERGON:-}" ]; then
        [ -x "$ERGON_BENCH_ERGON" ] || { echo "ERGON_BENCH_ERGON: $ERGON_BENCH_ERGON is not an executable" >&2; return 2; }
        ergon="$ERGON_BENCH_ERGON"
    else
        swift build -c "$config" --product ergon >&2 || return 1
        ergon="$PWD/.build/$config/ergon"
    fi
}
