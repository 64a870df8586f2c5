"""Run by `Scripts/chaos`: a soak run of vast mode under faults.

An `ergon agent` (vast mode, SQLite queue, logs in S3) works through a batch of simulated tasks
against `ergon vast-sim` with faults on, while this driver SIGKILLs and restarts it at seeded
random moments and takes S3 away for a while (a TCP proxy in front of moto closes its listener,
so connections are refused). When every task has ended it reads the simulator's own instance
history (`GET /__sim/history`), the queue (`ergon tasks list --json`, the attempts table) and the
logs stored in S3, prints the figures, and exits 1 when one misses its target:

  terminal       every task completed, failed or errored (100%)
  duplicates     two instances of one task alive at the same moment (0)
  orphans        instances alive at the end (0)
  lines lost     numbered lines missing from the final log of a task that ran to its end (0)

and when fewer kills or a shorter outage than planned happened (the run ended too soon).

Needs boto3 (run it with the S3 test venv's python) and ERGON_S3_ENDPOINT, ERGON_S3_REGION,
ERGON_S3_ACCESS_KEY_ID, ERGON_S3_SECRET_ACCESS_KEY (Scripts/lib/s3.sh exports them).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config as BotoConfig

from chaos_figures import TERMINAL, Figures
from children import exit_on_sigterm, stop_child

AGENT_ID = "chaos"
LINE_INTERVAL = 0.5


class Plan:
    """The run's size and rhythm, from the command line; every random choice comes from `seed`."""

    def __init__(self, args):
        self.short = args.short
        self.tasks = args.tasks or (48 if args.short else 300)
        self.kills = args.kills if args.kills is not None else (2 if args.short else 6)
        self.seed = args.seed
        self.parallel = 12 if args.short else 24
        # Seconds between two kills, and how long the agent stays dead each time.
        self.kill_every = (8, 20) if args.short else (15, 35)
        self.dead_for = (1, 4)
        # When S3 goes away (seconds after the first agent start) and for how long.
        self.outage_start = (15, 30) if args.short else (40, 90)
        self.outage_seconds = 25 if args.short else 60
        self.deadline = 420 if args.short else 1500
        self.random = random.Random(args.seed)


FAULT_KINDS = ["rate_limit", "server_error", "offer_taken", "stuck_loading", "oci_failure", "host_offline", "interrupted"]


def fault_plan(seed):
    """Seven fault kinds at modest rates: 429s, 5xx, offers taken, stuck loading, OCI failures,
    hosts going offline, interruptions. Each create-only kind also fires once early on for sure
    (a rule with `after` and `times: 1`), so that even a short run meets every kind."""
    once = [{"kind": kind, "after": 2 + 2 * index, "times": 1, "after_seconds": 3}
            for index, kind in enumerate(FAULT_KINDS[2:])]
    for rule in once:
        if rule["kind"] not in ("host_offline", "interrupted"):
            del rule["after_seconds"]
    return {"seed": seed, "faults": once + [
        {"endpoint": ["search", "list", "show", "logs", "log_result"], "kind": "rate_limit", "rate": 0.03, "retry_after": 1},
        {"endpoint": ["search", "create", "list", "show", "destroy", "logs"], "kind": "server_error", "rate": 0.03, "status": 503},
        {"kind": "offer_taken", "rate": 0.05},
        {"kind": "stuck_loading", "rate": 0.03},
        {"kind": "oci_failure", "rate": 0.03},
        {"kind": "host_offline", "rate": 0.03, "after_seconds": 3},
        {"kind": "interrupted", "rate": 0.03, "after_seconds": 3},
    ]}


class S3Proxy:
    """A TCP proxy in front of S3 that can go away: `close()` drops the listener and every open
    connection (new ones are refused), `open()` listens again on the same port."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.port = 0
        self.listener = None
        self.connections = set()
        self.lock = threading.Lock()

    def open(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self):
        listener, self.listener = self.listener, None
        if listener:
            listener.close()
        with self.lock:
            connections, self.connections = self.connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener):
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.connections.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        """Copies one direction; when either side is done, the whole connection is."""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with self.lock:
            self.connections.discard(source)
            self.connections.discard(sink)
        for conn in (source, sink):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


class Simulator:
    """`ergon vast-sim --port 0` with the fault file, its output in the work directory."""

    def __init__(self, ergon, work, seed):
        self.faults = os.path.join(work, "faults.json")
        with open(self.faults, "w") as f:
            json.dump(fault_plan(seed), f, indent=1)
        self.out = open(os.path.join(work, "sim.out"), "w")
        self.err = open(os.path.join(work, "sim.log"), "w")
        self.process = subprocess.Popen(
            [ergon, "vast-sim", "--port", "0", "--offers", "2000", "--seed", str(seed), "--faults", self.faults,
             "--log-level", "warning"], stdout=self.out, stderr=self.err, start_new_session=True)
        self.url = None
        for _ in range(300):
            with open(self.out.name) as f:
                found = re.search(r"http://127\.0\.0\.1:\d+", f.read())
            if found:
                self.url = found.group(0)
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        if not self.url:
            self.stop()
            sys.exit(f"chaos: ergon vast-sim did not start; see {self.err.name}")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.load(answer)

    def stop(self):
        stop_child(self.process, 20)


class Agent:
    """`ergon agent` as a child process in its own session; every start appends to agent.log."""

    def __init__(self, ergon, config, work, env):
        self.command = [ergon, "agent", "--config", config, "--log-level", "info"]
        self.log = open(os.path.join(work, "agent.log"), "ab")
        self.env = env
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log.write(f"\n===== chaos: agent start {self.starts} at {time.time():.3f}\n".encode())
        self.log.flush()
        self.process = subprocess.Popen(
            self.command, stdout=self.log, stderr=self.log, env=self.env, start_new_session=True)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout=60):
        """SIGTERM (the agent drains), then SIGKILL if it has not exited within `timeout`."""
        if not self.alive():
            return self.process.returncode if self.process else None
        status = stop_child(self.process, timeout)
        return "killed after SIGTERM timed out" if status is None else status


def write_config(work, sim_url, proxy_port, bucket, parallel):
    path = os.path.join(work, "ergon.yaml")
    with open(path, "w") as f:
        f.write(f"""agent:
  id: {AGENT_ID}
mode: vast
data_dir: {work}/data
logs:
  store: s3://{bucket}/chaos
  flush_interval: 2s
s3:
  endpoint: http://127.0.0.1:{proxy_port}
  region: ${{ERGON_S3_REGION}}
  access_key_id: ${{ERGON_S3_ACCESS_KEY_ID}}
  secret_access_key: ${{ERGON_S3_SECRET_ACCESS_KEY}}
server:
  listen: "off"
scheduler:
  max_parallel_tasks: {parallel}
  poll_interval: 1s
  provisioning_timeout: 15s
  ordering_grace: 30s
  default_max_attempts: 4
vast_api:
  url: {sim_url}
  api_key: chaos-key
  provisioning_timeout: 15s
""")
    os.chmod(path, 0o600)
    return path


def write_workflow(work, plan):
    """N independent tasks, each printing numbered lines every LINE_INTERVAL seconds for a
    seeded 6–14 s; about one in twelve exits 3 (it ends `failed`, which is terminal too)."""
    tasks, expected = [], {}
    for index in range(plan.tasks):
        slug = f"t{index + 1:04d}"
        run = plan.random.choice([6, 8, 10, 12, 14])
        exit_code = 3 if plan.random.random() < 1 / 12 else 0
        tasks.append({
            "slug": slug, "image": "ergon/sim-worker:1", "command": ["worker"], "entrypoint": [],
            "env": {"SIM_RUN_SECONDS": str(run), "SIM_LINE_INTERVAL": str(LINE_INTERVAL), "SIM_LOAD_SECONDS": "2",
                    "SIM_EXIT_CODE": str(exit_code)},
        })
        expected[slug] = (int(run / LINE_INTERVAL), exit_code)
    path = os.path.join(work, "workflow.json")
    with open(path, "w") as f:
        json.dump({"name": "chaos", "tasks": tasks}, f)
    return path, expected


class Run:
    """One soak run: starts everything, injects the chaos, collects the records."""

    def __init__(self, args, ergon, work):
        self.plan = Plan(args)
        self.ergon = ergon
        self.work = work
        self.events = []
        self.env = dict(os.environ)
        self.s3 = boto3.client(
            "s3", endpoint_url=os.environ["ERGON_S3_ENDPOINT"], region_name=os.environ["ERGON_S3_REGION"],
            aws_access_key_id=os.environ["ERGON_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=os.environ["ERGON_S3_SECRET_ACCESS_KEY"],
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 5}))
        self.bucket = f"ergon-chaos-{os.getpid()}-{int(time.time())}"
        upstream = urllib.parse.urlparse(os.environ["ERGON_S3_ENDPOINT"])
        self.proxy = S3Proxy((upstream.hostname, upstream.port or 80))
        self.sim = None
        self.agent = None
        self.outage = None

    def note(self, text):
        self.events.append((time.time(), text))
        print(f"chaos: {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)

    def ergon_json(self, *arguments):
        """Runs a read-only `ergon … --json` against the queue; a busy queue file gets two more tries."""
        for attempt in range(3):
            done = subprocess.run([self.ergon, *arguments, "--config", self.config, "--json"], capture_output=True,
                                  text=True, env=self.env)
            if done.returncode == 0:
                return json.loads(done.stdout)
            time.sleep(1)
        raise RuntimeError(f"ergon {' '.join(arguments)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")

    def setup(self):
        self.s3.create_bucket(Bucket=self.bucket)
        self.proxy.open()
        self.sim = Simulator(self.ergon, self.work, self.plan.seed)
        self.config = write_config(self.work, self.sim.url, self.proxy.port, self.bucket, self.plan.parallel)
        workflow, self.expected = write_workflow(self.work, self.plan)
        done = subprocess.run([self.ergon, "submit", workflow, "--config", self.config], capture_output=True, text=True,
                              env=self.env)
        if done.returncode != 0:
            sys.exit(f"chaos: ergon submit failed ({done.returncode}): {done.stderr.strip()[-600:]}")
        self.note(f"submitted {self.plan.tasks} tasks; simulator {self.sim.url}, S3 proxy :{self.proxy.port}, "
                  f"bucket {self.bucket}")
        self.agent = Agent(self.ergon, self.config, self.work, self.env)

    def tasks(self):
        return self.ergon_json("tasks", "list")

    def drive(self):
        """Runs the agent until every task has ended, killing it and taking S3 away on the way."""
        plan, rnd = self.plan, self.plan.random
        start = time.time()
        self.agent.start()
        self.note("agent started")
        next_kill = start + rnd.uniform(*plan.kill_every)
        outage_at = start + rnd.uniform(*plan.outage_start)
        outage_end = None
        kills = 0
        while True:
            now = time.time()
            if now - start > plan.deadline:
                self.note(f"deadline of {plan.deadline} s passed with tasks still running")
                break
            if outage_end is None and now >= outage_at:
                self.proxy.close()
                outage_end = now + plan.outage_seconds
                self.note(f"S3 down (listener closed) for {plan.outage_seconds} s")
            elif outage_end is not None and self.outage is None and now >= outage_end:
                self.proxy.open()
                self.outage = now - outage_at
                self.note(f"S3 back after {self.outage:.1f} s")
            if kills < plan.kills and now >= next_kill:
                if not self.agent.alive():
                    sys.exit(f"chaos: the agent exited on its own ({self.agent.process.returncode}); see {self.work}/agent.log")
                self.agent.kill()
                kills += 1
                dead = rnd.uniform(*plan.dead_for)
                self.note(f"SIGKILL {kills}/{plan.kills}; restarting in {dead:.1f} s")
                time.sleep(dead)
                self.agent.start()
                self.note("agent restarted")
                next_kill = time.time() + rnd.uniform(*plan.kill_every)
            if not self.agent.alive():
                sys.exit(f"chaos: the agent exited on its own ({self.agent.process.returncode}); see {self.work}/agent.log")
            states = [task["state"] for task in self.tasks()]
            ended = sum(state in TERMINAL for state in states)
            if ended == len(states) and self.outage is not None:
                self.note(f"all {ended} tasks ended after {time.time() - start:.0f} s")
                break
            time.sleep(2)
        if self.outage is None:
            if outage_end is not None:
                self.proxy.open()
                self.outage = time.time() - outage_at
            else:
                self.outage = 0.0
        self.kills = kills
        self.elapsed = time.time() - start

    def final_log_keys(self, tasks):
        return {task["slug"]: f"chaos/{task['workflow_id']}/{task['id']}/{task['attempt']}.log"
                for task in tasks if task["attempt"] > 0}

    def settle(self):
        """Lets the agent destroy what is left and seal every final log, then stops it (SIGTERM)."""
        deadline = time.time() + (90 if self.plan.short else 180)
        tasks = self.tasks()
        keys = set(self.final_log_keys(tasks).values())
        while time.time() < deadline:
            live = self.sim.get("/__sim/stats")["live_instances"]
            stored = set()
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="chaos/"):
                stored.update(item["Key"] for item in page.get("Contents", []))
            if live == 0 and keys <= stored:
                break
            time.sleep(2)
        self.note(f"stopping the agent (SIGTERM): {live} instance(s) live, {len(keys - stored)} final log(s) not in S3")
        self.stop_status = self.agent.terminate()

    def attempts(self):
        """(task id, attempt number) → ended_at (epoch seconds, None while not ended)."""
        db = sqlite3.connect(f"file:{self.work}/data/queue.sqlite?mode=ro", uri=True)
        try:
            return {(task, number): ended for task, number, ended in
                    db.execute("SELECT task_id, number, ended_at FROM attempts")}
        finally:
            db.close()

    def read_log(self, key):
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8", "replace")
        except self.s3.exceptions.NoSuchKey:
            return None

    def figures(self):
        tasks = self.tasks()
        history = self.sim.get("/__sim/history")
        stats = self.sim.get("/__sim/stats")
        attempts = self.attempts()
        figures = Figures(self.plan)
        figures.count_tasks(tasks)
        figures.count_instances(history, attempts)
        figures.count_lines(tasks, self.expected, self.final_log_keys(tasks), self.read_log)
        figures.kills, figures.outage = self.kills, self.outage
        figures.faults = {kind: 0 for kind in FAULT_KINDS}
        figures.faults.update(stats.get("faults_injected", {}))
        figures.requests = stats.get("requests", {})
        figures.elapsed = self.elapsed
        figures.stop_status = self.stop_status
        with open(os.path.join(self.work, "timeline.txt"), "w") as f:
            f.writelines(f"{when:.3f} {text}\n" for when, text in self.events)
        with open(os.path.join(self.work, "history.json"), "w") as f:
            json.dump(history, f, indent=1)
        with open(os.path.join(self.work, "tasks.json"), "w") as f:
            json.dump(tasks, f, indent=1)
        return figures

    def teardown(self, keep):
        if self.agent and self.agent.alive():
            self.agent.terminate(timeout=30)
        if self.sim:
            self.sim.stop()
        self.proxy.close()
        if not keep:
            try:
                for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                    for item in page.get("Contents", []):
                        self.s3.delete_object(Bucket=self.bucket, Key=item["Key"])
                # A killed agent may leave a multipart upload behind (README "Logs").
                for upload in self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
                    self.s3.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                self.s3.delete_bucket(Bucket=self.bucket)
            except Exception as error:  # The figures are in; a leftover bucket in moto is harmless.
                print(f"chaos: could not remove bucket {self.bucket}: {error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(prog="Scripts/chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ergon", required=True, help="the ergon binary")
    parser.add_argument("--short", action="store_true", help="48 tasks, 2 kills, a 25 s S3 outage")
    parser.add_argument("--tasks", type=int, help="tasks to submit (default 300, 48 with --short)")
    parser.add_argument("--kills", type=int, help="agent SIGKILLs (default 6, 2 with --short)")
    parser.add_argument("--seed", type=int, default=1, help="the seed of every random choice (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory and the bucket even on success")
    args = parser.parse_args()
    if args.tasks is not None and args.tasks < 1:
        parser.error("--tasks: must be at least 1")
    if args.kills is not None and args.kills < 0:
        parser.error("--kills: must be 0 or more")
    for name in ("ERGON_S3_ENDPOINT", "ERGON_S3_REGION", "ERGON_S3_ACCESS_KEY_ID", "ERGON_S3_SECRET_ACCESS_KEY"):
        if not os.environ.get(name):
            sys.exit(f"chaos: {name} is not set (Scripts/lib/s3.sh's ergon_s3_up exports it)")
    exit_on_sigterm()
    work = tempfile.mkdtemp(prefix="ergon-chaos.")
    # A private copy: a build in the same checkout may replace the binary while the run restarts it.
    ergon = os.path.join(work, "ergon")
    shutil.copy2(args.ergon, ergon)
    run = Run(args, ergon, work)
    passed = False
    try:
        run.setup()
        run.drive()
        run.settle()
        figures = run.figures()
        print(figures.report())
        passed = figures.passed
        with open(os.path.join(work, "details.txt"), "w") as f:
            f.write("\n".join(figures.details) + "\n")
        for line in figures.details[:40]:
            print(line)
        if len(figures.details) > 40:
            print(f"… {len(figures.details) - 40} more in {work}/details.txt")
    finally:
        run.teardown(keep=args.keep or not passed)
        if passed:
            if args.keep:
                print(f"chaos: kept {work} and bucket {run.bucket}")
            else:
                shutil.rmtree(work, ignore_errors=True)
            print("chaos: every figure on target")
        else:
            print(f"chaos: a figure missed its target, or the run failed; kept {work} "
                  "(agent.log, sim.log, history.json, tasks.json, timeline.txt, details.txt)", file=sys.stderr)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
