#!/usr/bin/env bash
# Run by `Scripts/bench all`.
#
# Runs every benchmark in sequence on one copy of one `ergon` build (ERGON_BENCH_BUILD, default
# release; ERGON_BENCH_ERGON names a binary built beforehand), each with its default size or the
# arguments in ERGON_BENCH_ALL_<NAME> (for example ERGON_BENCH_ALL_TICK=200
# ERGON_BENCH_ALL_QUEUE=500 for a quicker run). Each benchmark's output
# goes to the terminal as it runs; its BENCH-RESULT lines (Scripts/lib/bench_result.py) are
# collected and BENCHMARKS.md is written at the repository's root with the machine, the build,
# one table row per figure and a note per benchmark. Exits 1 when a benchmark failed to run
# (exited non-zero or printed no result); a missed target is marked in the table and printed,
# and does not change the exit status.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

export ERGON_BENCH_BUILD="${ERGON_BENCH_BUILD:-release}"
source Scripts/lib/bench-build.sh
ergon_bench_build release || { echo "Scripts/bench all: building ergon ($ERGON_BENCH_BUILD) failed" >&2; exit 1; }

out="$(mktemp -d /tmp/ergon-bench-all.XXXXXX)"
trap 'rm -rf "$out"' EXIT
# Every benchmark runs this copy: a build of other sources meanwhile cannot change it.
cp "$ergon" "$out/ergon"
export ERGON_BENCH_ERGON="$out/ergon"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$out/runs.tsv"
for name in docker offers s3 cache queue tick calls ranking; do
    var="ERGON_BENCH_ALL_${name^^}"
    case "$name" in
        docker) defaults="40 1" ;;
        offers) defaults="10000" ;;
        s3) defaults="256" ;;
        cache) defaults="512" ;;
        queue) defaults="2000" ;;
        tick) defaults="1000" ;;
        calls) defaults="50" ;;
        ranking) defaults="50" ;;
    esac
    args="${!var-$defaults}"
    echo "==== Scripts/bench $name $args" >&2
    t0="$(date +%s)"
    # shellcheck disable=SC2086  # the arguments are words
    bash "Scripts/lib/bench-$name.sh" $args 2>&1 | tee "$out/$name.log"
    rc="${PIPESTATUS[0]}"
    printf '%s\t%s\t%s\t%s\n' "$name" "$args" "$rc" "$(($(date +%s) - t0))" >>"$out/runs.tsv"
    [ "$rc" = 0 ] || echo "==== Scripts/bench $name $args failed ($rc)" >&2
done

python3 Scripts/lib/bench-report.py --runs "$out/runs.tsv" --logs "$out" --build "$ERGON_BENCH_BUILD" --binary "$ergon" \
    --started "$started" --load "$load" --output "$root/BENCHMARKS.md"
