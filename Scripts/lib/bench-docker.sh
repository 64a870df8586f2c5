#!/usr/bin/env bash
# Run by `Scripts/bench docker [N] [P]`.
#
# Runs N trivial tasks through Ergon end to end (submit → claim → container → exit noticed
# → logs stored → container removed → completed), P at a time, and the same N containers
# with `docker run --rm`, P at a time; prints both times, the ratio and the added
# milliseconds per task. Target: ratio ≤ 1.3.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
n="${1:-40}"
p="${2:-1}"

source Scripts/lib/prerequisites.sh
source Scripts/lib/docker-engine.sh
source Scripts/lib/test-image.sh
ergon_prerequisites
source Scripts/lib/bench-build.sh
ergon_bench_build debug

work="$(mktemp -d /tmp/ergon-bench.XXXXXX)"
agent_pid=""
cleanup() {
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid"
        wait "$agent_pid" 2>/dev/null || true
    fi
    ergon_engine_down
    rm -rf "$work"
}
trap cleanup EXIT
ergon_engine_up
ergon_test_image
image="$ERGON_TEST_IMAGE"
now() { python3 -c 'import time; print(time.monotonic())'; }

# Warm both paths once so neither pays a first-run cost.
docker run --rm --network none "$image" echo warm >/dev/null

echo "== baseline: $n × docker run --rm, $p at a time" >&2
t0=$(now)
seq 1 "$n" | xargs -P "$p" -I{} docker run --rm --network none "$image" echo "task {}" >/dev/null
t1=$(now)

cat >"$work/ergon.yaml" <<YAML
agent:
  id: bench
data_dir: $work/data
scheduler:
  max_parallel_tasks: $p
  poll_interval: 5s
docker:
  network: none
YAML
python3 - "$n" "$image" >"$work/workflow.yaml" <<'PY'
import sys
n, image = int(sys.argv[1]), sys.argv[2]
print("name: bench")
print("tasks:")
for i in range(1, n + 1):
    print(f"  - {{slug: t{i}, image: \"{image}\", command: [echo, \"task {i}\"]}}")
PY
echo "warm" >/dev/null
"$ergon" agent --config "$work/ergon.yaml" --log-level warning >"$work/agent.log" 2>&1 &
agent_pid=$!
# Warm-up task through the agent, not timed.
printf 'name: warm\ntasks:\n  - {slug: warm, image: "%s", command: [echo, warm]}\n' "$image" >"$work/warm.yaml"
"$ergon" submit "$work/warm.yaml" --config "$work/ergon.yaml" --wait >/dev/null 2>&1

echo "== ergon: $n tasks, $p at a time" >&2
t2=$(now)
"$ergon" submit "$work/workflow.yaml" --config "$work/ergon.yaml" --wait --json >/dev/null 2>"$work/submit.err"
t3=$(now)
completed=$("$ergon" tasks list --config "$work/ergon.yaml" --state completed --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
leftover=$(docker ps -aq --filter label=ergon.agent=bench | wc -l)

python3 - "$n" "$p" "$t0" "$t1" "$t2" "$t3" "$completed" "$leftover" <<'PY'
import sys
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
n, p = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3 = map(float, sys.argv[3:7])
completed, leftover = int(sys.argv[7]), int(sys.argv[8])
base, ergon = t1 - t0, t3 - t2
ratio = ergon / base
print(f"docker run --rm : {base:7.2f} s  ({base / n * 1000:6.1f} ms/task)")
print(f"ergon           : {ergon:7.2f} s  ({ergon / n * 1000:6.1f} ms/task)")
print(f"ratio           : {ratio:.2f}x  (target <= 1.30)")
print(f"added per task  : {(ergon - base) / n * 1000:+.1f} ms")
print(f"tasks completed : {completed - 1} of {n} (plus 1 warm-up); containers left behind: {leftover}")
if completed - 1 != n or leftover != 0:
    sys.exit(1)
print(result_line(f"docker: {n} tasks, {p} at a time", f"{ergon:.2f} s", f"{base:.2f} s (docker run --rm)", f"{ratio:.2f}x",
                  "<= 1.30x", ratio <= 1.3))
PY
