import ErgonCore
import Foundation

/// How a task runs on a Vast instance: with `runtype: args`, `onstart` replaces the image's
/// entrypoint, so the agent runs `/bin/sh` with a short script that runs the task's own
/// entrypoint and command (in its `work_dir`, when set) and prints the exit marker, since Vast
/// reports no exit code. The image therefore needs `/bin/sh`.
///
/// With a worker API (`publishArtifacts`), the script also publishes what the command left at
/// the top of `$PONOS_DATA/current` before printing the marker, so the files get out before the
/// agent destroys the instance, also from images that do not publish their own: it needs `curl`
/// in the image, skips what the task already published (a worker built on arkindex-base-worker
/// publishes its own), links, folders, and names other than `[A-Za-z0-9._-]`, and says so in the log.
public struct VastLaunchWrapper: Equatable, Sendable {
    /// The entrypoint Vast runs (`onstart`).
    public var onstart: String
    /// Its arguments (`args`): `-c SCRIPT NAME` followed by the task's argv.
    public var args: [String]

    /// The wrapper for `argv` (the task's entrypoint followed by its command) under `label`.
    public init(
        argv: [String], workDir: String?, label: InstanceLabel, publishArtifacts: Bool = false,
        acceptanceCheck: AcceptanceCheck? = nil
    ) {
        var script = ""
        if let acceptanceCheck { script += Self.checkStep(acceptanceCheck, label: label) }
        if let workDir, !workDir.isEmpty {
            // A missing work_dir is the task's fault: report it as its exit status.
            script += "if cd -- \(Self.quoted(workDir)); then \"$@\"; s=$?; else s=125; fi; "
        } else {
            script += "\"$@\"; s=$?; "
        }
        if publishArtifacts { script += Self.publishStep }
        script += ExitMarker.shellPrintf(label: label, statusVariable: "s") + "; exit \"$s\""
        self.onstart = "/bin/sh"
        self.args = ["-c", script, "ergon-task"] + argv
    }

    /// Runs the acceptance check before anything of the task's: in the background, with a
    /// watchdog that, after its timeout, kills it (`kill -9`) and signals the wrapper (USR1),
    /// whose trap ends it with status 137, so a check stuck where `kill -9` cannot reach (a GPU
    /// fallen off the bus leaves `nvidia-smi` in uninterruptible sleep) does not hold the
    /// instance. A failure prints ``AcceptanceMarker``'s failure line with its status and ends
    /// the wrapper before the task's command, without an exit marker; a pass prints the passed
    /// line. `$$` in the watchdog's subshell is the wrapper's own process.
    static func checkStep(_ check: AcceptanceCheck, label: InstanceLabel) -> String {
        let seconds = max(1, Int(check.timeout.seconds.rounded(.up)))
        let failed = "printf '%s%d\\n' '\(AcceptanceMarker.failedPrefix(label: label))'"
        return "echo '[ergon-wrapper] acceptance check: '\(quoted(check.command)); "
            + "trap '\(failed.replacingOccurrences(of: "'", with: "'\\''")) 137; exit 97' USR1; "
            + "/bin/sh -c \(quoted(check.command)) & p=$!; "
            // The watchdog's sleep holds no output open: once the watchdog is killed, it ends alone.
            + "( sleep \(seconds) </dev/null >/dev/null 2>&1; echo '[ergon-wrapper] the acceptance check is still running after \(seconds)s: stopping it'; "
            + "kill -9 \"$p\" 2>/dev/null; kill -USR1 $$ ) & w=$!; "
            + "wait \"$p\"; c=$?; kill \"$w\" 2>/dev/null; trap - USR1; "
            + "if [ \"$c\" -ne 0 ]; then \(failed) \"$c\"; exit 97; fi; "
            + "printf '%s\\n' '\(AcceptanceMarker.passedLine(label: label))'; "
    }

    /// Publishes each regular file at the top of `$PONOS_DATA/current` that the task has not
    /// published yet with `PUT {api}task/{id}/artifact/{name}` (the token's own task only).
    /// Never fails the task: a file it cannot publish is a line in the log.
    static let publishStep = #"""
        d="${PONOS_DATA:-/data}/current"; \
        if [ -n "$ARKINDEX_API_URL" ] && [ -n "$ARKINDEX_TASK_TOKEN" ] && [ -d "$d" ]; then \
        if command -v curl >/dev/null 2>&1; then \
        for f in "$d"/* "$d"/.[!.]*; do \
        if [ -L "$f" ] || [ ! -e "$f" ]; then [ -L "$f" ] && echo "[ergon-wrapper] artifact skipped: ${f##*/}: a link"; continue; fi; \
        n="${f##*/}"; \
        if [ ! -f "$f" ]; then echo "[ergon-wrapper] artifact skipped: $n: not a regular file"; continue; fi; \
        case "$n" in *[!A-Za-z0-9._-]*) echo "[ergon-wrapper] artifact skipped: $n: the wrapper publishes only names of letters, digits, '.', '_' and '-'"; continue;; esac; \
        u="${ARKINDEX_API_URL}task/$PONOS_TASK/artifact/$n"; \
        c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Ponos $ARKINDEX_TASK_TOKEN" "$u"); \
        if [ "$c" = 200 ] || [ "$c" = 302 ]; then continue; fi; \
        if curl -fsS -o /dev/null --retry 3 -T "$f" -H "Authorization: Ponos $ARKINDEX_TASK_TOKEN" -H 'Content-Type: application/octet-stream' "$u"; then \
        echo "[ergon-wrapper] published $n"; else echo "[ergon-wrapper] publishing $n failed"; fi; \
        done; \
        else echo "[ergon-wrapper] curl is not in the image: files in $d were not published as artifacts"; fi; \
        fi; 
        """#.replacingOccurrences(of: "\\\n", with: "")

    /// `text` in single quotes for a POSIX shell.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
