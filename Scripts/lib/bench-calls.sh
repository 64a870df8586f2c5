#!/usr/bin/env bash
# Run by `Scripts/bench calls [N]`.
#
# One agent in vast mode (1 s poll interval, N tasks at a time) against `ergon vast-sim` runs N
# short tasks (default 50; instances load for 2 s and run for 5 s) to completion. From the
# simulator's requests per endpoint (GET /__sim/stats) over the whole run it prints the Vast API
# calls per task split into listings (one paged listing per tick serves the whole fleet), log
# reads (request_logs and result_url) and the rest (search, create, show, destroy, label, ...):
# target <= 6 calls per task besides log reads and listings. It checks the simulator's count
# against the agent's own (ergon_vast_api_calls_total) and that every task completed and no
# instance is left.
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-50}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "Scripts/bench calls: N must be a positive number of tasks, not \"$n\"" >&2; exit 2; }

source Scripts/lib/prerequisites.sh
ergon_apt_install libsqlite3-dev curl
source Scripts/lib/bench-build.sh
ergon_bench_build release

work="$(mktemp -d /tmp/ergon-bench-calls.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "ergon: Vast calls over the lifecycles of $n tasks against vast-sim ($config build)" >&2
python3 Scripts/lib/bench-fleet.py calls --ergon "$ergon" --work "$work" --tasks "$n" --offers "$((n * 8 < 2000 ? 2000 : n * 8))" \
    --load-seconds 2 --run-seconds 5
