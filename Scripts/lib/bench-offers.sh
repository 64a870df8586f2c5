#!/usr/bin/env bash
# Run by `Scripts/bench offers [N]`.
#
# Starts `ergon vast-sim` with N offers (default 10000) and runs the same query R times with
# `ergon offers` and with the official `vastai search offers` (1.9.1), alternating, against
# it; prints the median wall time of each and their ratio (target: Ergon ≤ 0.25× the
# official CLI), then the local filter-evaluation rate in offers per second on one core.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
n="${1:-10000}"
runs="${ERGON_BENCH_RUNS:-7}"
query='gpu_name in [RTX_4090,RTX_3090,A5000] reliability>0.95 gpu_ram>=20 inet_down>100 dph<2'

source Scripts/lib/prerequisites.sh
source Scripts/lib/vastai.sh
ergon_apt_install libsqlite3-dev curl
ergon_vastai
source Scripts/lib/bench-build.sh
ergon_bench_build release

work="$(mktemp -d /tmp/ergon-bench-offers.XXXXXX)"
sim_pid=""
cleanup() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid"
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$ergon" vast-sim --port 0 --offers "$n" --seed 11 --log-level warning >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/sim.out" 2>/dev/null && break
    sleep 0.1
done
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.out" | head -1)"
[ -n "$url" ] || { echo "ergon vast-sim did not start:" >&2; cat "$work/sim.err" >&2; exit 1; }

cat >"$work/ergon.yaml" <<YAML
agent:
  id: bench
data_dir: $work/data
vast_api:
  url: $url
  api_key: bench-key
YAML

python3 - "$ergon" "$ERGON_VASTAI_BIN" "$url" "$work/ergon.yaml" "$query" "$runs" "$n" <<'PY'
import json, statistics, subprocess, sys, time
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
ergon, vastai, url, config, query, runs, n = sys.argv[1:8]
runs, n = int(runs), int(n)
ergon_cmd = [ergon, "offers", "--config", config, "--filter", query, "--json", "--limit", "64"]
# The same request as Ergon's: single GPU, free offers, 20 GB priced in, cheapest first.
vastai_cmd = [vastai, "--url", url, "--api-key", "bench-key", "search", "offers", query + " num_gpus=1 rented=false",
              "--raw", "--limit", "64", "--storage", "20", "-o", "dph_total"]

def timed(cmd):
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return elapsed, done.stdout

# One untimed run each (page cache, Python imports), and a check that both saw offers.
_, out = timed(ergon_cmd)
ours = json.loads(out)["offers"]
_, out = timed(vastai_cmd)
theirs = json.loads(out)
if not ours or not theirs:
    sys.exit(f"no offers matched: ergon {len(ours)}, vastai {len(theirs)}")
e, v = [], []
for _ in range(runs):
    e.append(timed(ergon_cmd)[0])
    v.append(timed(vastai_cmd)[0])
me, mv = statistics.median(e), statistics.median(v)
print(f"market                : {n} simulated offers; query: {query}")
print(f"vastai search offers  : {mv * 1000:7.1f} ms (median of {runs})")
print(f"ergon offers          : {me * 1000:7.1f} ms (median of {runs})")
print(f"ratio                 : {me / mv:.2f}x  (target <= 0.25)")
print(f"cheapest              : ergon offer {ours[0]['id']} at ${ours[0]['dph']:.4f}/h, vastai offer {theirs[0]['id']} at ${theirs[0]['dph_total']:.4f}/h")
if abs(ours[0]["dph"] - theirs[0]["dph_total"]) > 1e-6:
    sys.exit("the two tools disagree on the cheapest price")
print(result_line(f"offers: one search of {n} offers", f"{me * 1000:.1f} ms", f"{mv * 1000:.1f} ms (vastai search offers)",
                  f"{me / mv:.2f}x", "<= 0.25x", me / mv <= 0.25))
PY
echo -n "local evaluation      : "
"$ergon" offers --config "$work/ergon.yaml" --filter "$query" --measure-evaluation 2>/dev/null
