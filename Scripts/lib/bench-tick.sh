#!/usr/bin/env bash
# Run by `Scripts/bench tick [N]`.
#
# One agent in vast mode (1 s poll interval, max_parallel_tasks N, no budget caps, file logs, its
# HTTP server on 127.0.0.1 with an operator token) against `ergon vast-sim`, with N tasks
# (default 1000) whose instances last two hours, twice (ERGON_BENCH_TICK_PHASES, default
# loading,running): first with every instance kept loading, so a tick is only its own work
# (list, read the queue, decide); then with every instance running and printing a line every
# second, so each tick also reads each instance's new log lines. Once N instances are in the
# phase's state (and a settling time, ERGON_BENCH_SETTLE, default 10 s), it measures over a window
# (ERGON_BENCH_WINDOW, default 60 s): the agent's CPU time (utime + stime from /proc/PID/stat),
# its VmRSS/VmHWM (/proc/PID/status), its tick count (the count of ergon_scheduler_tick_seconds
# in GET /metrics) and the simulator's requests per endpoint (GET /__sim/stats). It prints CPU ms
# per tick and the share of one core (the baseline is one core: target <= 5%), listing calls per
# tick against ceil(N/25) (pages of 25), log-read and other calls per tick, and the RSS (target
# <= 100 MiB). After each phase it cancels the workflow, waits until the simulator holds no live
# instance, stops the agent with SIGTERM and the simulator. ERGON_BENCH_LINE_INTERVAL changes how often each
# instance prints a line (seconds, default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-1000}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "Scripts/bench tick: N must be a positive number of instances, not \"$n\"" >&2; exit 2; }

source Scripts/lib/prerequisites.sh
ergon_apt_install libsqlite3-dev curl
source Scripts/lib/bench-build.sh
ergon_bench_build release

work="$(mktemp -d /tmp/ergon-bench-tick.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "ergon: $n live instances against vast-sim ($config build)" >&2
# About a fifth of the market is a free, verified, single-GPU offer that vastai's default query
# keeps: 8 offers per instance leave room.
python3 Scripts/lib/bench-fleet.py tick --ergon "$ergon" --work "$work" --tasks "$n" --offers "$((n * 8 < 2000 ? 2000 : n * 8))" \
    --window "${ERGON_BENCH_WINDOW:-60}" --settle "${ERGON_BENCH_SETTLE:-10}" --line-interval "${ERGON_BENCH_LINE_INTERVAL:-1}" \
    --phases "${ERGON_BENCH_TICK_PHASES:-loading,running}"
