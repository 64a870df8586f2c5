"""A vast-mode agent against `ergon vast-sim`, measured from outside: `Scripts/bench tick` and
`Scripts/bench calls` (see Scripts/lib/bench-tick.sh and bench-calls.sh, which build `ergon` and
run this).

tick:  N tasks whose instances last two hours; once N instances are loading (a tick's own work)
       or running (each tick also reads their logs), a measuring window reads the agent's CPU
       time and memory from /proc, its tick count from GET /metrics and the simulator's requests
       per endpoint from GET /__sim/stats.
calls: N short tasks run to completion; the simulator's requests per endpoint over the whole
       run, per task.

Both end by cancelling what is left, waiting until the simulator holds no live instance, and
stopping the agent (SIGTERM) and then the simulator. Prints the figures for people, then one
`BENCH-RESULT` line per figure for `Scripts/bench all` (Scripts/lib/bench-result.py).
"""
import argparse
import json
import math
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_result import result_line  # noqa: E402
from children import exit_on_sigterm, stop_child  # noqa: E402

API_KEY = "bench-key"
PAGE_SIZE = 25  # instances per page of GET /api/v1/instances/ (Vast's cap, see VAST_API.md)
LOG_ENDPOINTS = ("logs", "log_result")
SIM_CREDIT = 100  # the simulated account's starting credit, $ (SimulatorOptions.initialCredit)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(text):
    """Progress, on standard error."""
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None, timeout=30):
    """The body of a GET, with a bearer token when given."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.read().decode()


class Simulator:
    """`ergon vast-sim` on a free port; its statistics."""

    def __init__(self, ergon, work, offers, run_seconds, load_seconds, extra=(), seed=7):
        self.out = open(os.path.join(work, "sim.out"), "w+")
        self.err = open(os.path.join(work, "sim.err"), "w+")
        self.process = subprocess.Popen(
            [ergon, "vast-sim", "--port", "0", "--offers", str(offers), "--seed", str(seed),
             "--run-seconds", str(run_seconds), "--load-seconds", str(load_seconds), "--log-level", "warning", *extra],
            stdout=self.out, stderr=self.err)
        self.url = None
        for _ in range(300):
            self.out.seek(0)
            found = re.search(r"http://127\.0\.0\.1:\d+", self.out.read())
            if found:
                self.url = found.group(0)
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        if not self.url:
            self.stop()  # it may still run without having said where
            self.err.seek(0)
            raise SystemExit(f"ergon vast-sim did not start: {self.err.read()[-800:]}")

    def stats(self):
        return json.loads(get(self.url + "/__sim/stats"))

    def spent(self):
        """Dollars billed so far: the account's starting credit less what is left."""
        return SIM_CREDIT - json.loads(get(self.url + "/api/v0/users/current/", API_KEY))["credit"]

    def destroy(self, instance_id):
        request = urllib.request.Request(f"{self.url}/api/v0/instances/{instance_id}/", data=b"{}", method="DELETE")
        request.add_header("Authorization", f"Bearer {API_KEY}")
        urllib.request.urlopen(request, timeout=30).read()

    def stop(self):
        stop_child(self.process, 30)


class Agent:
    """`ergon agent` in vast mode with its HTTP server on; its metrics and its /proc figures."""

    def __init__(self, ergon, work, name, sim_url, parallel, poll="1s", vast_extra=""):
        self.ergon = ergon
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.config = os.path.join(work, "ergon.yaml")
        with open(self.config, "w") as f:
            f.write(f"""agent:
  id: {name}
mode: vast
data_dir: {work}/data
scheduler:
  max_parallel_tasks: {parallel}
  poll_interval: {poll}
  # {parallel} orders go out together and the simulator answers them one at a time.
  provisioning_timeout: 1h
  ordering_grace: 10m
server:
  listen: 127.0.0.1:{self.port}
  operator_token: {self.token}
vast_api:
  url: {sim_url}
  api_key: {API_KEY}
{vast_extra}""")
        os.chmod(self.config, 0o600)  # it holds the operator token
        self.log = open(os.path.join(work, "agent.log"), "w")
        self.process = subprocess.Popen(
            [ergon, "agent", "--config", self.config, "--log-level", "warning"], stdout=self.log, stderr=subprocess.STDOUT)
        self.log_path = self.log.name
        for _ in range(300):
            if self.process.poll() is not None:
                raise SystemExit(f"ergon agent exited with {self.process.returncode}:\n{self.tail()}")
            try:
                self.metrics()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.stop()  # it runs but never answered: stop it before giving up
        raise SystemExit(f"ergon agent did not answer GET /metrics on 127.0.0.1:{self.port}:\n{self.tail()}")

    def tail(self):
        with open(self.log_path) as f:
            return f.read()[-2000:]

    def cli(self, *args):
        done = subprocess.run([self.ergon, *args, "--config", self.config], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"ergon {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return done.stdout

    def metrics(self):
        """The samples of GET /metrics: {(name, labels text): value}."""
        samples = {}
        for line in get(f"http://127.0.0.1:{self.port}/metrics", self.token).splitlines():
            if not line or line.startswith("#"):
                continue
            found = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
            if found:
                samples[(found.group(1), found.group(2) or "")] = float(found.group(3))
        return samples

    def cpu_seconds(self):
        """utime + stime from /proc/PID/stat."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)

    def memory_mib(self):
        """VmRSS and VmHWM from /proc/PID/status, MiB."""
        values = {}
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def stop(self):
        stop_child(self.process, 120, on_kill=lambda: say("the agent did not stop within 120 s of SIGTERM; killing it"))


def metric(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    total = 0.0
    for (key, text), value in samples.items():
        if key == name and all(f'{k}="{v}"' in text for k, v in labels.items()):
            total += value
    return total


def endpoint_label(labels):
    """The `endpoint` of a metric's label text."""
    found = re.search(r'endpoint="([^"]+)"', labels)
    return found.group(1) if found else labels


def submit(agent, work, tasks, env, extra=None):
    """Submits one workflow of `tasks` tasks (each with the `extra` fields); returns its id."""
    path = os.path.join(work, "workflow.json")
    spec = {"name": "bench", "tasks": [
        {"slug": f"t{i}", "image": "busybox:latest", "entrypoint": [], "command": ["true"], "env": env, **(extra or {})}
        for i in range(1, tasks + 1)]}
    with open(path, "w") as f:
        json.dump(spec, f)
    submitted = json.loads(agent.cli("submit", path, "--json"))
    rows = submitted["tasks"] if isinstance(submitted, dict) else submitted
    return rows[0]["workflow_id"]


def all_ended(agent, workflow, n):
    """(True when the workflow's n tasks have all ended, its task counts by state) for wait_until."""
    rows = json.loads(agent.cli("tasks", "list", "--workflow", workflow, "--json"))
    states = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    done = sum(v for k, v in states.items() if k in ("completed", "failed", "error", "stopped", "cancelled"))
    return done == n, ", ".join(f"{k} {v}" for k, v in sorted(states.items()))


def between_listings(sim, quiet=0.4, timeout=60):
    """The simulator's statistics once no listing has been asked for during `quiet` seconds: a
    tick's paged listing is over, its tick recorded, and the next one has not begun (the
    agent waits out its poll interval between ticks)."""
    deadline = time.monotonic() + timeout
    stats = sim.stats()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = sim.stats()
        if now["requests"].get("list", 0) != stats["requests"].get("list", 0):
            stats, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise SystemExit(f"the agent never paused between listings for {quiet} s within {timeout} s")


def requests_between(before, after):
    """Requests per endpoint between two `/__sim/stats` answers."""
    keys = set(before["requests"]) | set(after["requests"])
    return {k: after["requests"].get(k, 0) - before["requests"].get(k, 0) for k in keys}


def wait_until(what, check, timeout, every=1.0):
    """Calls `check` (returning done, progress text) every `every` s until done; exits after
    `timeout` s. Reports progress every 15 s."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        done, progress = check()
        if done:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} ({progress})")
        if time.monotonic() - last_report > 15:
            say(f"  waiting for {what}: {progress}")
            last_report = time.monotonic()
        time.sleep(every)


def cancel_all(agent, workflow, tries=5):
    """Cancels every task of `workflow` that has not ended, again while some are left: under a
    busy agent one cancel of 1000 tasks once stopped only 904 of them."""
    for attempt in range(1, tries + 1):
        done = subprocess.run([agent.ergon, "workflows", "cancel", workflow, "--config", agent.config],
                              capture_output=True, text=True)
        rows = json.loads(agent.cli("tasks", "list", "--workflow", workflow, "--json"))
        left = [row["slug"] for row in rows if row["state"] in ("pending", "running")]
        if not left:
            return
        say(f"  workflows cancel (try {attempt}, status {done.returncode}) left {len(left)} task(s) pending or running"
            f" ({', '.join(left[:5])}{', ...' if len(left) > 5 else ''}): {done.stderr.strip()[-400:]}")
        time.sleep(2)


def tear_down(agent, sim, workflow, tasks):
    """Cancels the workflow, waits until the simulator holds no live instance, stops both.
    Returns False when instances had to be destroyed behind the agent's back."""
    clean = True
    try:
        if agent and workflow and agent.process.poll() is None:
            cancel_all(agent, workflow)
            try:
                wait_until("the agent to destroy every instance",
                           lambda: (sim.stats()["live_instances"] == 0, f"{sim.stats()['live_instances']} live"),
                           timeout=180 + tasks * 0.5)
            except SystemExit as error:
                say(str(error))
                clean = False
    finally:
        if agent:
            agent.stop()
        if sim:
            left = sim.stats()["live_instances"]
            if left:
                clean = False
                say(f"{left} instance(s) still live after the agent stopped: destroying them through the simulator")
                for row in json.loads(get(sim.url + "/__sim/instances")).get("instances", []):
                    if row.get("destroyed") is not True:
                        try:
                            sim.destroy(row["id"])
                        except urllib.error.URLError:
                            pass
            sim.stop()
    return clean


def tick(args, phase):
    """One window with every instance in `phase`: `running` (each one's log is read every tick
    it is not already being read) or `loading` (kept loading for two hours: the tick's own work,
    listing, reading the queue and deciding, with nothing to read)."""
    n = args.tasks
    work = os.path.join(args.work, phase)
    os.makedirs(work)
    state = "running" if phase == "running" else "provisioning"
    sim = Simulator(args.ergon, work, offers=args.offers, run_seconds=7200, load_seconds=args.load_seconds)
    agent = workflow = None
    try:
        agent = Agent(args.ergon, work, "bench-tick", sim.url, parallel=n)
        say(f"== {n} tasks of two hours each, instances {phase}; waiting until {n} instances are {state}")
        started = time.monotonic()
        env = {"SIM_LINE_INTERVAL": str(args.line_interval)}
        if phase == "loading":
            env["SIM_LOAD_SECONDS"] = "7200"
        workflow = submit(agent, work, n, env)

        def ready():
            samples = agent.metrics()
            count = metric(samples, "ergon_instances", state=state)
            return count >= n, f"{count:.0f} {state}, {sim.stats()['live_instances']} live"
        wait_until(f"{n} {state} instances", ready, timeout=args.ramp_timeout)
        say(f"   {n} {state} after {time.monotonic() - started:.0f} s; settling {args.settle} s, then measuring {args.window} s")
        time.sleep(args.settle)

        def snapshot():
            # Between two ticks, so that each listing counted belongs to a tick counted.
            stats = between_listings(sim)
            return {"wall": time.monotonic(), "cpu": agent.cpu_seconds(), "metrics": agent.metrics(), "sim": stats}
        first = snapshot()
        rss_samples = []
        while time.monotonic() - first["wall"] < args.window:
            rss_samples.append(agent.memory_mib()[0])
            time.sleep(1)
        last = snapshot()
        rss, hwm = agent.memory_mib()
        rss_samples.append(rss)
        still = metric(last["metrics"], "ergon_instances", state=state)

        wall = last["wall"] - first["wall"]
        cpu = last["cpu"] - first["cpu"]
        ticks = (metric(last["metrics"], "ergon_scheduler_tick_seconds_count")
                 - metric(first["metrics"], "ergon_scheduler_tick_seconds_count"))
        tick_time = (metric(last["metrics"], "ergon_scheduler_tick_seconds_sum")
                     - metric(first["metrics"], "ergon_scheduler_tick_seconds_sum"))
        calls = requests_between(first["sim"], last["sim"])
        if ticks <= 0:
            raise SystemExit("the agent recorded no tick during the window")
        listings = calls.get("list", 0)
        logs = sum(calls.get(k, 0) for k in LOG_ENDPOINTS)
        others = sum(v for k, v in calls.items() if k != "list" and k not in LOG_ENDPOINTS)
        pages = math.ceil(n / PAGE_SIZE)
        core = cpu / wall
        # Ticks come slower than the poll interval when a tick takes long (a slow listing): the
        # CPU a tick costs over the 1 s it should take is what the tick's own work would use at
        # the configured pace (log reads are paced by their own round trips, not by ticks).
        per_poll = cpu / ticks / 1.0
        per_tick = listings / ticks
        agent_calls = {text: value - first["metrics"].get(("ergon_vast_api_calls_total", text), 0)
                       for (name, text), value in last["metrics"].items() if name == "ergon_vast_api_calls_total"}

        print(f"fleet                 : {n} live instances ({still:.0f} {state} at the end of the window), poll interval 1 s"
              + (f", each printing a line every {args.line_interval:g} s" if phase == "running" else ", no log to read"))
        print(f"window                : {wall:.1f} s, {ticks:.0f} ticks ({ticks / wall:.2f}/s; "
              f"a tick's own list-read-decide {tick_time / ticks * 1000:.1f} ms on average)")
        print(f"agent CPU             : {cpu * 1000 / ticks:.1f} ms per tick, {core * 100:.2f}% of one core at the "
              f"{ticks / wall:.2f} ticks/s measured; {per_poll * 100:.1f}% at one tick per 1 s poll interval "
              f"(baseline one core; target <= 5%)")
        print(f"listing calls         : {per_tick:.2f} per tick (target <= ceil({n}/{PAGE_SIZE}) = {pages})")
        print(f"log reads             : {logs / ticks:.1f} calls per tick (request_logs + result_url), "
              f"{calls.get('logs', 0) / ticks:.1f} instances read per tick")
        print(f"other Vast calls      : {others / ticks:.2f} per tick "
              f"({', '.join(f'{k} {v}' for k, v in sorted(calls.items()) if k != 'list' and k not in LOG_ENDPOINTS and v) or 'none'})")
        print(f"agent RSS             : {rss:.1f} MiB at the end, {max(rss_samples):.1f} MiB at most in the window, "
              f"{hwm:.1f} MiB peak since start (target <= 100 MiB)")
        print("agent's own count     : " + ", ".join(
            f"{endpoint_label(k)} {v:.0f}" for k, v in sorted(agent_calls.items()) if v))
        fleet = f"{n} {phase} instances"
        print(result_line(f"tick: agent CPU, {fleet}, 1 s poll",
                          f"{core * 100:.1f}% of a core ({cpu * 1000 / ticks:.1f} ms/tick at {ticks / wall:.2f} ticks/s)",
                          "one core", f"{core:.3f}", "<= 0.05", core <= 0.05))
        print(result_line(f"tick: listing calls per tick, {fleet}", f"{per_tick:.2f}", f"ceil({n}/25) = {pages}",
                          f"{per_tick / pages:.2f}x", f"<= {pages} (1.00x)", per_tick <= pages))
        print(result_line(f"tick: agent RSS, {fleet}", f"{hwm:.1f} MiB (peak)", "-", f"{hwm / 100:.2f}x of target",
                          "<= 100 MiB", hwm <= 100))
        if phase == "running":
            print(result_line(f"tick: log-read calls per tick, {fleet}", f"{logs / ticks:.1f}", "-", "-", "-", None))
    finally:
        clean = tear_down(agent, sim, workflow, n)
    if not clean:
        raise SystemExit("the agent left live instances behind (destroyed through the simulator)")


def calls(args):
    n = args.tasks
    sim = Simulator(args.ergon, args.work, offers=args.offers, run_seconds=args.run_seconds, load_seconds=args.load_seconds)
    agent = workflow = None
    try:
        agent = Agent(args.ergon, args.work, "bench-calls", sim.url, parallel=args.parallel)
        before = sim.stats()
        agent_before = agent.metrics()
        say(f"== {n} tasks of {args.run_seconds:g} s, {args.parallel} at a time; counting Vast calls until all completed")
        workflow = submit(agent, args.work, n, {})

        wait_until(f"{n} tasks to end", lambda: all_ended(agent, workflow, n), timeout=args.run_timeout, every=2)
        wait_until("no live instance", lambda: (sim.stats()["live_instances"] == 0, f"{sim.stats()['live_instances']} live"),
                   timeout=120)
        after = sim.stats()
        agent_after = agent.metrics()
        rows = json.loads(agent.cli("tasks", "list", "--workflow", workflow, "--json"))
        completed = sum(1 for row in rows if row["state"] == "completed")
        attempts = sum(row.get("attempt") or 1 for row in rows)
        delta = requests_between(before, after)
        listings = delta.get("list", 0)
        logs = sum(delta.get(k, 0) for k in LOG_ENDPOINTS)
        rest = {k: v for k, v in delta.items() if k != "list" and k not in LOG_ENDPOINTS and v}
        per_task = sum(rest.values()) / n
        agent_total = (metric(agent_after, "ergon_vast_api_calls_total") - metric(agent_before, "ergon_vast_api_calls_total"))
        print(f"tasks                 : {n}, {completed} completed, {attempts} attempts, {after['created_instances'] - before['created_instances']} instances created")
        print(f"besides logs, listings: {per_task:.2f} calls per task (target <= 6): "
              + ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(rest.items())))
        print(f"log reads             : {logs / n:.1f} calls per task (request_logs {delta.get('logs', 0) / n:.1f},"
              f" result_url {delta.get('log_result', 0) / n:.1f})")
        print(f"listings              : {listings} pages over the run ({listings / n:.1f} per task; one listing per tick for the whole fleet)")
        print(f"simulator vs agent    : {sum(delta.values()) - delta.get('log_result', 0)} requests besides result_url GETs seen,"
              f" {agent_total:.0f} counted by the agent's metrics (which leave result_url GETs out)")
        if completed != n:
            raise SystemExit(f"only {completed} of {n} tasks completed")
        print(result_line(f"calls: Vast calls per task besides log reads and listings ({n} tasks)", f"{per_task:.2f}", "-",
                          f"{per_task / 6:.2f}x of target", "<= 6", per_task <= 6))
        print(result_line(f"calls: log-read calls per task ({n} tasks of {args.run_seconds:g} s)", f"{logs / n:.1f}", "-", "-", "-", None))
    finally:
        clean = tear_down(agent, sim, workflow, n)
    if not clean:
        raise SystemExit("the agent left live instances behind (destroyed through the simulator)")


def ranking_run(args, ranking):
    """One workflow of args.tasks tasks on the faulty market with `ranking`: (spend $, wall s,
    instances created, completed tasks)."""
    work = os.path.join(args.work, ranking)
    os.makedirs(work)
    sim = Simulator(args.ergon, work, offers=args.offers, run_seconds=args.run_seconds, load_seconds=args.load_seconds,
                    extra=("--market", "faulty", "--time-scale", str(args.time_scale)), seed=args.seed)
    agent = workflow = None
    n = args.tasks
    try:
        agent = Agent(args.ergon, work, f"bench-{ranking.replace('_', '-')}", sim.url, parallel=n,
                      vast_extra=f"  ranking: {ranking}\n")
        # The hints in the simulator's seconds, the agent's clock: the run as it is, and the image
        # as large as what the simulator's scaled download moves (--time-scale shortens only the
        # download). Provisioning times the agent observes are in the same seconds.
        # The image exists only in the simulator (SIM_IMAGE_BYTES): named on a registry that never
        # resolves (.invalid), its size comes from the hint, as for any image whose registry the
        # agent cannot reach, and not from a real image's manifest.
        hints = {"vast": {"expected_runtime": f"{args.run_seconds:g}s", "image_size_hint": f"{args.image_bytes * args.time_scale:.0f}"},
                 "max_attempts": 6, "image": "registry.invalid/ergon-bench/model:1"}
        say(f"== {ranking}: {n} tasks of {args.run_seconds:g} s, a {args.image_bytes / 1e9:g} GB image downloaded at {args.time_scale:g}x")
        started = time.monotonic()
        workflow = submit(agent, work, n, {"SIM_IMAGE_BYTES": f"{args.image_bytes:.0f}"}, extra=hints)

        wait_until(f"{n} tasks to end", lambda: all_ended(agent, workflow, n), timeout=args.run_timeout, every=1)
        wall = time.monotonic() - started
        wait_until("no live instance", lambda: (sim.stats()["live_instances"] == 0, f"{sim.stats()['live_instances']} live"),
                   timeout=120)
        spend = sim.spent()
        rows = json.loads(agent.cli("tasks", "list", "--workflow", workflow, "--json"))
        completed = sum(1 for row in rows if row["state"] == "completed")
        created = sim.stats()["created_instances"]
        print(f"{ranking:<15}: ${spend:.4f} spent, {wall:.1f} s until the last task ended, {created} instances for {n} tasks, {completed} completed")
        return spend, wall, created, completed
    finally:
        clean = tear_down(agent, sim, workflow, n)
        if not clean:
            raise SystemExit("the agent left live instances behind (destroyed through the simulator)")


def ranking(args):
    price = ranking_run(args, "price")
    effective = ranking_run(args, "effective_cost")
    spend_ratio = effective[0] / price[0] if price[0] > 0 else float("inf")
    wall_ratio = effective[1] / price[1] if price[1] > 0 else float("inf")
    print(f"effective_cost vs price: spend {spend_ratio:.2f}x, wall time {wall_ratio:.2f}x (target: both below 1)")
    print(result_line(f"ranking: spend of {args.tasks} tasks on a faulty market, effective_cost", f"${effective[0]:.4f}",
                      f"${price[0]:.4f} (price)", f"{spend_ratio:.2f}x", "< 1.00x", spend_ratio < 1))
    print(result_line(f"ranking: wall time of {args.tasks} tasks on a faulty market, effective_cost", f"{effective[1]:.1f} s",
                      f"{price[1]:.1f} s (price)", f"{wall_ratio:.2f}x", "< 1.00x", wall_ratio < 1))
    if effective[3] != args.tasks or price[3] != args.tasks:
        raise SystemExit(f"not every task completed: price {price[3]}, effective_cost {effective[3]} of {args.tasks}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["tick", "calls", "ranking"])
    parser.add_argument("--ergon", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--offers", type=int, required=True)
    parser.add_argument("--load-seconds", type=float, default=2)
    parser.add_argument("--run-seconds", type=float, default=5)
    parser.add_argument("--line-interval", type=float, default=1)
    parser.add_argument("--parallel", type=int, default=0)
    parser.add_argument("--phases", default="loading,running", help="tick: loading, running, or both (comma-separated)")
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--settle", type=float, default=10)
    parser.add_argument("--ramp-timeout", type=float, default=1200)
    parser.add_argument("--run-timeout", type=float, default=900)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--image-bytes", type=float, default=4e9)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    exit_on_sigterm()
    if args.what == "tick":
        for phase in args.phases.split(","):
            if phase not in ("loading", "running"):
                parser.error(f"--phases: unknown phase {phase!r} (loading, running)")
            tick(args, phase)
    elif args.what == "ranking":
        ranking(args)
    else:
        args.parallel = args.parallel or args.tasks
        calls(args)


if __name__ == "__main__":
    main()
