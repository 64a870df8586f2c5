"""Writes BENCHMARKS.md from a `Scripts/bench all` run: the machine, the build, one table row per
BENCH-RESULT line of each benchmark's log, and a note per benchmark. Exits 1 when a benchmark
failed to run (non-zero exit, or no result line); missed targets are listed, not an error."""
import argparse
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_result import parse  # noqa: E402

NOTES = {
    "docker": "N trivial tasks through a docker-mode agent end to end (submit, claim, container, exit noticed, "
              "logs stored, container removed, completed), P at a time, against the same N containers with "
              "`docker run --rm`, P at a time.",
    "offers": "The same query with `ergon offers --json` and with the official `vastai search offers --raw` (1.9.1) "
              "against `ergon vast-sim`, alternating; medians of 7. Both tools must find the same cheapest price.",
    "s3": "A file of random bytes uploaded with Ergon's S3 client (8 MiB parts, 4 in flight) and with `aws s3 cp` "
          "(8 MiB parts, 10 in flight) to a local moto server, alternating, median of the runs' ratios; then a log "
          "growing over 256 flushes shipped through the S3 log store: bytes sent against the log's size (a whole "
          "upload per flush would send about 128x).",
    "cache": "The same docker-mode task with one resource served over HTTP on this machine, run twice: time until "
             "the resource is ready on the second run (cache hit) against the first (download and SHA-256).",
    "queue": "Claims per second with 1, 2 and 4 agents sharing one PostgreSQL database against one agent on SQLite. "
             "No target: informational (a real agent claims at most max_parallel_tasks per tick).",
    "tick": "One vast-mode agent (1 s poll interval) with N live instances on `ergon vast-sim`, twice: every "
            "instance kept loading (a tick is only its own work: list, read the queue, decide), then every instance "
            "running and printing a line a second (each tick also reads the new lines of every instance not being "
            "read already). Over a 60 s window between two listings: the agent's CPU time from /proc/PID/stat per "
            "tick and as a share of one core (the baseline is one core), listing calls per tick from the "
            "simulator's counts against ceil(N/25) pages, and the agent's peak RSS (VmHWM).",
    "calls": "N short tasks (load 2 s, run 5 s) run to completion by a vast-mode agent against `ergon vast-sim`: "
             "the simulator's requests per task over the whole lifecycles, besides log reads (request_logs and "
             "result_url) and the paged listings that serve the whole fleet each tick.",
    "ranking": "The same workflow of N tasks (all at once; each runs 20 s, 2000 s at market time, with a 4 GB "
               "image) on the same seeded faulty market (`ergon vast-sim --market faulty --time-scale 0.01`: slow "
               "links and flaky hosts at the cheap end) with `vast_api.ranking: price`, then `effective_cost`: the "
               "money the simulator billed and the wall time until the last task ended; the baseline is `price`.",
}


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", required=True, help="TSV: name, arguments, exit status, seconds")
    parser.add_argument("--logs", required=True, help="the folder of NAME.log files")
    parser.add_argument("--build", required=True)
    parser.add_argument("--binary", required=True, help="the ergon measured (its build time is reported)")
    parser.add_argument("--started", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    runs = []
    for line in open(args.runs):
        name, arguments, status, seconds = line.rstrip("\n").split("\t")
        with open(os.path.join(args.logs, f"{name}.log"), errors="replace") as log:
            results = [row for row in map(parse, log) if row]
        runs.append({"name": name, "args": arguments, "status": int(status), "seconds": int(seconds), "results": results})

    commit = command("git", "rev-parse", "--short", "HEAD")
    dirty = command("git", "status", "--porcelain", "--untracked-files=no")
    source = f"commit {commit}" + (" with uncommitted changes" if dirty and dirty != "unknown" else "")
    swift = command("swift", "--version").splitlines()[0] if command("swift", "--version") != "unknown" else "unknown"
    total = sum(run["seconds"] for run in runs)

    lines = [
        "# Benchmarks",
        "",
        "Written by `Scripts/bench all`; run it again to replace this file. Every figure is measured against a",
        "baseline taken in the same run on the same machine.",
        "",
        f"- ran: {args.started}, {total // 60} min {total % 60} s; load average at the start {args.load}",
        f"- machine: {platform.node()}, {os.cpu_count()} cores (`nproc` {command('nproc')}), "
        f"kernel {platform.release()}, {platform.machine()}",
        f"- toolchain: {swift}",
        f"- measured: the `ergon` {args.build} build of {source}, linked "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(os.stat(args.binary).st_mtime))}",
        "",
        "| benchmark | figure | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    missed, broken = [], []
    for run in runs:
        if run["status"] != 0 or not run["results"]:
            broken.append(run)
            lines.append(f"| {run['name']}: did not run to the end (exit {run['status']}) | - | - | - | - | **error** |")
        for row in run["results"]:
            status = {"pass": "pass", "fail": "**fail**", "info": "info"}[row["status"]]
            if row["status"] == "fail":
                missed.append(row)
            lines.append(f"| {row['name']} | {row['figure']} | {row['baseline']} | {row['ratio']} | {row['target']} | {status} |")
    lines += ["", "`info` rows have no target. A **fail** is a missed target; the run itself went through.", ""]
    lines += ["## What each benchmark measures", ""]
    for run in runs:
        took = f"{run['seconds'] // 60} min {run['seconds'] % 60} s"
        invocation = f"`Scripts/bench {run['name']}{' ' + run['args'] if run['args'] else ''}`"
        lines.append(f"- **{run['name']}** ({invocation}, {took}): {NOTES.get(run['name'], '')}")
    lines.append("")
    with open(args.output, "w") as f:
        f.write("\n".join(lines))

    print(f"wrote {args.output}")
    for row in missed:
        print(f"missed target: {row['name']}: {row['figure']} (target {row['target']})")
    for run in broken:
        print(f"failed to run: Scripts/bench {run['name']} {run['args']} (exit {run['status']}, "
              f"{len(run['results'])} result lines)", file=sys.stderr)
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
