#!/usr/bin/env bash
# Run by `Scripts/bench queue [N]`.
#
# Claims per second of the task queue: one agent on SQLite (the baseline) and 1, 2 and 4 agents
# sharing one PostgreSQL database, in the same run, with `ergon bench-queue`. An agent is one
# queue object with its own connections, looping as the scheduler does: read 16 pending tasks,
# claim each in order; a claim lost to another agent (counted) is followed by a claim of the
# next pending task (`claimNext`, FOR UPDATE SKIP LOCKED), as the scheduler does, until none is
# pending. Each run
# starts on a fresh store (a new SQLite file, a new database) holding one workflow of N
# independent tasks (default 2000), submitted before the clock starts; afterwards every task must
# be running, claimed exactly once. R runs per configuration (ERGON_BENCH_RUNS, default 3),
# interleaved; prints each run, then per configuration the median claims/s, lost claims and the
# ratios against SQLite x1 and PostgreSQL x1, then a summary. ERGON_BENCH_BUILD=debug measures
# a debug build; ERGON_BENCH_AGENTS sets the agent counts (default 1,2,4).
#
# PostgreSQL is a cluster of its own (Scripts/lib/postgres.sh) in a temporary directory on a free
# port, stopped at the end; it never touches the tests' server. Like the tests' cluster it runs
# with fsync and synchronous_commit off, and SQLite runs in WAL mode with synchronous=NORMAL:
# neither waits for the disk at each commit. ERGON_BENCH_POSTGRES_URL (an admin URL whose user
# may CREATE DATABASE, password from PGPASSWORD) measures an existing server instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
tasks="${1:-2000}"
runs="${ERGON_BENCH_RUNS:-3}"
agents="${ERGON_BENCH_AGENTS:-1,2,4}"

work="$(mktemp -d /tmp/ergon-bench-queue.XXXXXX)"
# The cluster's owner (`postgres` when running as root) must reach its state directory inside.
chmod 0755 "$work"
export ERGON_POSTGRES_STATE_DIR="$work/pg"
export ERGON_POSTGRES_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Never the tests' server, even when this shell has its variables.
unset ERGON_TEST_POSTGRES_URL
if [ -n "${ERGON_BENCH_POSTGRES_URL:-}" ]; then
    export ERGON_TEST_POSTGRES_URL="$ERGON_BENCH_POSTGRES_URL"
fi
source Scripts/lib/prerequisites.sh
source Scripts/lib/postgres.sh
cleanup() {
    ergon_postgres_down
    rm -rf "$work"
}
trap cleanup EXIT
ergon_apt_install libsqlite3-dev
source Scripts/lib/bench-build.sh
ergon_bench_build release

ergon_postgres_up
echo "ergon: $runs runs of $tasks claims each: SQLite x1, PostgreSQL x{$agents} ($config build)" >&2
"$ergon" bench-queue --postgres "$ERGON_TEST_POSTGRES_URL" --tasks "$tasks" --agents "$agents" --runs "$runs" \
    --scratch "$work/sqlite" | tee "$work/bench-queue.out"
# The median table's rows as result lines; the queue has no target of its own.
python3 - "$work/bench-queue.out" "$tasks" <<'PY'
import re, sys
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
rows = {}
for line in open(sys.argv[1]):
    found = re.match(r"^(SQLite|PostgreSQL)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)x\s", line)
    if found:
        rows[(found.group(1), int(found.group(2)))] = (int(found.group(3)), found.group(5))
sqlite = rows.get(("SQLite", 1))
if not sqlite or len(rows) < 2:
    sys.exit("bench-queue printed no table of medians")
for (engine, agents), (claims, versus) in sorted(rows.items()):
    if engine == "PostgreSQL":
        print(result_line(f"queue: claims of {sys.argv[2]} tasks, PostgreSQL x{agents}", f"{claims} claims/s",
                          f"{sqlite[0]} claims/s (SQLite x1)", f"{versus}x", "-", None))
PY
