import ErgonCore
import Foundation

/// How a task runs on a Vast instance: with `runtype: args`, `onstart` replaces the image's
/// entrypoint, so the agent runs `/bin/sh` with a short script that runs the task's own
/// entrypoint and command (in its `work_dir`, when set) and prints the exit marker, since Vast
/// reports no exit code. The image therefore needs `/bin/sh`.
public struct VastLaunchWrapper: Equatable, Sendable {
    /// The entrypoint Vast runs (`onstart`).
    public var onstart: String
    /// Its arguments (`args`): `-c SCRIPT NAME` followed by the task's argv.
    public var args: [String]

    /// The wrapper for `argv` (the task's entrypoint followed by its command) under `label`.
    public init(argv: [String], workDir: String?, label: InstanceLabel) {
        var script = ""
        if let workDir, !workDir.isEmpty {
            // A missing work_dir is the task's fault: report it as its exit status.
            script += "if cd -- \(Self.quoted(workDir)); then \"$@\"; s=$?; else s=125; fi; "
        } else {
            script += "\"$@\"; s=$?; "
        }
        script += ExitMarker.shellPrintf(label: label, statusVariable: "s") + "; exit \"$s\""
        self.onstart = "/bin/sh"
        self.args = ["-c", script, "ergon-task"] + argv
    }

    /// `text` in single quotes for a POSIX shell.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
