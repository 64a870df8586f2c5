"""The figures of a chaos run (Scripts/lib/chaos.py), computed from the simulator's instance
history, the queue and the logs stored in S3, and the verdict against their targets."""

import re

TERMINAL = {"completed", "failed", "error", "stopped", "cancelled"}
LINE = re.compile(r"^\[sim\] instance (\d+) line (\d+)$")
FINISHED = re.compile(r"^\[sim\] instance \d+ finished with status (\d+)$")
# The markers VastLogCursor writes where it could not prove that no line was lost.
GAP_MARKER = "[ergon] some lines of this log were lost"
AMBIGUITY_MARKER = "[ergon] repeated lines made the overlap between two reads ambiguous"


class Figures:
    """What the run measured, and the verdict against the targets."""

    def __init__(self, plan):
        self.plan = plan
        self.details = []

    def count_tasks(self, tasks):
        self.total = len(tasks)
        self.by_state = {}
        for task in tasks:
            self.by_state[task["state"]] = self.by_state.get(task["state"], 0) + 1
        self.terminal = sum(n for state, n in self.by_state.items() if state in TERMINAL)
        self.attempts = sum(task["attempt"] for task in tasks)

    def count_instances(self, history, attempts):
        """Duplicates, orphans and idle billing from the simulator's own records. Times are
        placed on the wall clock through the simulator's `started_at`."""
        started, now = history["started_at"], history["now"]
        instances = history["instances"]
        self.created = len(instances)
        self.orphans = [row["id"] for row in instances if row["destroyed_at"] is None]
        by_task = {}
        self.unlabelled = 0
        self.idle_billed = 0.0
        self.idle_instances = 0
        for row in instances:
            parts = (row["create_label"] or "").split(":")
            if len(parts) != 4 or parts[0] != "ergon":
                self.unlabelled += 1
                self.idle_billed += row["billed_seconds"]
                continue
            _, _, task, attempt = parts
            end = row["destroyed_at"] if row["destroyed_at"] is not None else now
            by_task.setdefault(task, []).append((row["created_at"], end, row["id"]))
            ended = attempts.get((task, int(attempt)), "missing")
            if ended == "missing":
                idle = end - row["created_at"]
            elif ended is None:
                idle = 0.0
            else:
                idle = max(0.0, end - max(row["created_at"], ended - started))
            if idle > 0.5:
                self.idle_instances += 1
            self.idle_billed += idle
        self.duplicates = 0
        for task, lives in by_task.items():
            lives.sort()
            for i, (start_a, end_a, id_a) in enumerate(lives):
                for start_b, end_b, id_b in lives[i + 1:]:
                    if start_b < end_a:
                        self.duplicates += 1
                        self.details.append(
                            f"duplicate: task {task}: instance {id_a} alive {start_a:.1f}–{end_a:.1f} s, "
                            f"instance {id_b} created at {start_b:.1f} s")
        for instance in self.orphans:
            self.details.append(f"orphan: instance {instance} still alive at the end")

    def count_lines(self, tasks, expected, keys, read_log):
        """For each task that ran to its end (completed or failed), its final attempt's log must
        hold the numbered lines 1..K and the finish line."""
        self.lines_expected = 0
        self.lines_lost = 0
        self.logs_missing = 0
        self.gap_markers = 0
        self.ambiguity_markers = 0
        self.logs_checked = 0
        for task in tasks:
            if task["state"] not in ("completed", "failed"):
                continue
            count, _ = expected[task["slug"]]
            self.lines_expected += count + 1
            text = read_log(keys[task["slug"]])
            if text is None:
                self.logs_missing += 1
                self.lines_lost += count + 1
                self.details.append(f"lost: {task['slug']} ({task['id']}): no final log {keys[task['slug']]}")
                continue
            self.logs_checked += 1
            self.gap_markers += text.count(GAP_MARKER)
            self.ambiguity_markers += text.count(AMBIGUITY_MARKER)
            seen, finished = set(), False
            for line in text.splitlines():
                match = LINE.match(line)
                if match:
                    seen.add(int(match.group(2)))
                elif FINISHED.match(line):
                    finished = True
            missing = [n for n in range(1, count + 1) if n not in seen]
            lost = len(missing) + (0 if finished else 1)
            if lost:
                self.lines_lost += lost
                shown = ",".join(map(str, missing[:12])) + ("…" if len(missing) > 12 else "")
                self.details.append(f"lost: {task['slug']} ({task['id']}) attempt {task['attempt']}: {lost} line(s)"
                                    f" [{shown}]{'' if finished else ' and the finish line'}")

    def checks(self):
        """(figure, value, target, passed) for each figure with a target."""
        return [
            ("tasks in a terminal state", f"{self.terminal}/{self.total} ({100 * self.terminal / max(self.total, 1):.1f}%)",
             "100%", self.total > 0 and self.terminal == self.total),
            ("duplicates (two instances of a task alive at once)", str(self.duplicates), "0", self.duplicates == 0),
            ("orphans at the end (instances alive)", str(len(self.orphans)), "0", not self.orphans),
            ("log lines lost", f"{self.lines_lost} of {self.lines_expected}", "0", self.lines_lost == 0),
            ("agent SIGKILLs", str(self.kills), f"≥ {self.plan.kills}", self.kills >= self.plan.kills),
            ("S3 outage", f"{self.outage:.1f} s", f"≥ {self.plan.outage_seconds} s", self.outage >= self.plan.outage_seconds - 1),
            ("fault kinds injected", f"{sum(n > 0 for n in self.faults.values())} of {len(self.faults)}",
             f"{len(self.faults)}", all(n > 0 for n in self.faults.values())),
        ]

    def report(self):
        checks = self.checks()
        rows = [(name, value, target, "ok" if passed else "MISSED") for name, value, target, passed in checks]
        rows += [
            ("tasks by state", ", ".join(f"{k} {v}" for k, v in sorted(self.by_state.items())), "", ""),
            ("attempts", str(self.attempts), "", ""),
            ("instances created", str(self.created), "", ""),
            ("instance-seconds billed with no live attempt", f"{self.idle_billed:.1f} s over {self.idle_instances} instance(s)", "", ""),
            ("final logs checked / missing", f"{self.logs_checked} / {self.logs_missing}", "", ""),
            ("gap markers / ambiguity markers", f"{self.gap_markers} / {self.ambiguity_markers}", "", ""),
            ("faults injected", ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none", "", ""),
            ("simulator requests", str(sum(self.requests.values())), "", ""),
            ("run time (submit to all ended)", f"{self.elapsed:.0f} s", "", ""),
            ("agent exit status on the final SIGTERM", str(self.stop_status), "", ""),
        ]
        width = max(len(row[0]) for row in rows)
        value_width = min(max(len(row[1]) for row in rows[:len(checks)]), 40)
        lines = [f"{'figure':<{width}}  {'value':<{value_width}}  {'target':<8}  verdict"]
        for name, value, target, verdict in rows:
            lines.append(f"{name:<{width}}  {value:<{value_width}}  {target:<8}  {verdict}".rstrip())
        lines.append("")
        lines.append("Billed with no live attempt: each instance's billed time after the attempt named in its create "
                     "label had ended (in the queue), or all of it when no such attempt exists.")
        return "\n".join(lines)

    @property
    def passed(self):
        return all(check[3] for check in self.checks())
