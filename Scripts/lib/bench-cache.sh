#!/usr/bin/env bash
# Run by `Scripts/bench cache [MiB]`.
#
# Runs the same docker-mode task, which needs one MiB-sized resource (default 512) served
# over HTTP from this machine, twice through one agent. The first run downloads and verifies
# the resource; the second finds it in the cache. Prints the time until the resource was
# ready on each run (from the task's `[ergon] resources ready in` line), the second as a
# ratio of the first (target <= 0.05), and the same ratio for the whole task, submit to
# completed (the command itself is trivial, so this is start-up). Exits non-zero when a run
# failed or the resource was downloaded twice; a missed target is printed, not an error.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
mib="${1:-512}"

source Scripts/lib/prerequisites.sh
source Scripts/lib/docker-engine.sh
source Scripts/lib/test-image.sh
ergon_prerequisites
source Scripts/lib/bench-build.sh
ergon_bench_build debug

work="$(mktemp -d /tmp/ergon-bench-cache.XXXXXX)"
agent_pid=""
server_pid=""
cleanup() {
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid"
        wait "$agent_pid" 2>/dev/null || true
    fi
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    ergon_engine_down
    rm -rf "$work"
}
trap cleanup EXIT
ergon_engine_up
ergon_test_image
image="$ERGON_TEST_IMAGE"
now() { python3 -c 'import time; print(time.monotonic())'; }

mkdir -p "$work/files"
echo "== making a $mib MiB resource" >&2
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/files/model.bin"
digest=$(sha256sum "$work/files/model.bin" | cut -d' ' -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/files" >"$work/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

cat >"$work/ergon.yaml" <<YAML
agent:
  id: bench-cache
data_dir: $work/data
scheduler:
  poll_interval: 5s
docker:
  network: none
server:
  listen: off
cache:
  max_size: $((mib * 3))MiB
YAML
for run in 1 2; do
    cat >"$work/run$run.yaml" <<YAML
name: cache-run-$run
tasks:
  - slug: infer
    image: "$image"
    command: "ls -l /models/model.bin"
    resources:
      - {type: HTTP, url: "http://127.0.0.1:$port/model.bin", target: /models/model.bin, sha256: $digest}
YAML
done
"$ergon" agent --config "$work/ergon.yaml" --log-level warning >"$work/agent.log" 2>&1 &
agent_pid=$!

declare -a ready wall
for run in 1 2; do
    echo "== run $run" >&2
    t0=$(now)
    id=$("$ergon" submit "$work/run$run.yaml" --config "$work/ergon.yaml" --json 2>"$work/submit$run.err" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["id"])')
    while :; do
        state=$("$ergon" tasks show "$id" --config "$work/ergon.yaml" --json 2>/dev/null \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); print((d.get("task") or d)["state"])')
        case "$state" in
            completed) break ;;
            failed|error|stopped|cancelled) echo "run $run: the task ended $state" >&2; "$ergon" tasks logs "$id" --config "$work/ergon.yaml" >&2; exit 1 ;;
        esac
        sleep 0.05
    done
    t1=$(now)
    line=$("$ergon" tasks logs "$id" --config "$work/ergon.yaml" 2>/dev/null | grep '\[ergon\] resources ready in' || true)
    [ -n "$line" ] || { echo "run $run: no 'resources ready' line in the task's log" >&2; exit 1; }
    ready[$run]=$(echo "$line" | sed -E 's/.*ready in ([0-9.]+) s.*/\1/')
    wall[$run]=$(python3 -c "print($t1 - $t0)")
done
downloads=$(grep -c '"GET /model.bin' "$work/http.log" || true)

python3 - "$mib" "${ready[1]}" "${ready[2]}" "${wall[1]}" "${wall[2]}" "$downloads" <<'PY'
import sys
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
mib = int(sys.argv[1])
r1, r2, w1, w2 = map(float, sys.argv[2:6])
downloads = int(sys.argv[6])
ratio = r2 / r1
print(f"resource ready, run 1 (download + sha256) : {r1:8.3f} s  ({mib / r1:7.1f} MiB/s)")
print(f"resource ready, run 2 (cache)             : {r2:8.3f} s")
print(f"ready ratio                               : {ratio:.4f}  (target <= 0.05)")
print(f"whole task, submit to completed           : {w1:6.2f} s then {w2:6.2f} s, ratio {w2 / w1:.3f}")
print(f"downloads seen by the HTTP server         : {downloads} (expected 1)")
print(result_line(f"cache: a {mib} MiB resource, second run", f"{r2:.3f} s", f"{r1:.3f} s (first run: download + sha256)",
                  f"{ratio:.4f}x", "<= 0.05x", ratio <= 0.05))
if downloads != 1:
    sys.exit(f"the HTTP server saw {downloads} downloads of the resource, not 1: the second run did not use the cache")
PY
