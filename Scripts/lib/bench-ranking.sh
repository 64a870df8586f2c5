#!/usr/bin/env bash
# Run by `Scripts/bench ranking [N]`.
#
# The same workflow of N tasks (default 50, all at once) on the same seeded faulty market
# (`ergon vast-sim --market faulty`: the cheap end has slow links and flaky hosts, instances
# load for their image's download over inet_down and are interrupted with their host's
# unreliability), run by a vast-mode agent with `vast_api.ranking: price`, then with
# `effective_cost`. Each task runs 20 s (2000 s at market time, --time-scale 0.01) with a 4 GB
# image, and says so in its hints (vast.expected_runtime, vast.image_size_hint). It prints the
# money the simulator billed and the wall time until the last task ended for each ranking, and
# their ratios: target, effective_cost spends less and finishes sooner.
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-50}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "Scripts/bench ranking: N must be a positive number of tasks, not \"$n\"" >&2; exit 2; }

source Scripts/lib/prerequisites.sh
ergon_apt_install libsqlite3-dev curl
source Scripts/lib/bench-build.sh
ergon_bench_build release

work="$(mktemp -d /tmp/ergon-bench-ranking.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "ergon: price vs effective_cost ranking, $n tasks on a faulty simulated market ($config build)" >&2
python3 Scripts/lib/bench-fleet.py ranking --ergon "$ergon" --work "$work" --tasks "$n" --offers 2000 \
    --load-seconds 2 --run-seconds 20 --time-scale 0.01 --image-bytes 4e9 --seed 11
