import Foundation

/// The lines a launch wrapper prints about an instance's acceptance check
/// (``AcceptanceCheck``), before the task's own command: one place knows their format.
///
/// Like ``ExitMarker``, each names the attempt's label, so a log replayed by the task cannot
/// pass for this attempt's check.
public enum AcceptanceMarker {
    /// The fixed start of every line.
    public static let tag = "##ergon-check##"

    /// The line printed when the check failed, without its status.
    public static func failedPrefix(label: InstanceLabel) -> String { "\(tag) \(label.vastLabel) failed status=" }

    /// The line printed when the check passed.
    public static func passedLine(label: InstanceLabel) -> String { "\(tag) \(label.vastLabel) passed" }

    /// The failed check's status in `text` for `label`'s task and attempt, if its failure line
    /// is there (whichever agent's id it carries, as for the exit marker).
    public static func failureStatus(in text: [UInt8], label: InstanceLabel) -> Int? {
        ExitMarker.status(in: text, label: label, tag: tag, word: "failed status=")
    }

    /// Why a check that ended with `status` failed, in the words the attempt records; `check`
    /// is nil when the agent no longer knows it (its config changed since the launch).
    public static func reason(status: Int, check: AcceptanceCheck?) -> String {
        let what = check.map { "the acceptance check `\($0.command)`" } ?? "the acceptance check"
        switch status {
        case 137:
            let within = check.map { " within \(Reconciler.format($0.timeout.seconds))" } ?? " in time"
            return "\(what) did not pass\(within) (stopped)"
        case 127:
            return "\(what) failed with status 127 (command not found)"
        default:
            return "\(what) failed with status \(status)"
        }
    }
}

/// A short command an instance must pass before the task's command runs, proving that the GPU
/// is there and usable (`nvidia-smi`, a one-line CUDA probe): `vast_api.acceptance_check`, or a
/// task's `vast.acceptance_check`. The launch wrapper runs it with `/bin/sh -c` and stops it
/// after ``timeout``; a failure ends the attempt as ``AttemptOutcome/rejectedHost(reason:)``.
public struct AcceptanceCheck: Codable, Equatable, Sendable {
    /// The shell command.
    public var command: String
    /// How long it may take.
    public var timeout: Duration
    /// How many hosts one task may reject in a row before a failed check counts as an attempt
    /// (a check that fails everywhere is more likely wrong than every host).
    public var maxRejections: Int

    /// The default ``timeout``: one minute.
    public static let defaultTimeout: Duration = .seconds(60)
    /// The default ``maxRejections``.
    public static let defaultMaxRejections = 3

    public init(command: String, timeout: Duration = Self.defaultTimeout, maxRejections: Int = Self.defaultMaxRejections) {
        self.command = command
        self.timeout = timeout
        self.maxRejections = maxRejections
    }

    /// The check a task runs under: its own `vast.acceptance_check` (an empty one turns the
    /// agent's off), else the agent's.
    public static func effective(agent: AcceptanceCheck?, task: VastTaskOptions?) -> AcceptanceCheck? {
        guard let own = task?.acceptanceCheck else { return agent }
        let command = own.trimmingCharacters(in: .whitespacesAndNewlines)
        if command.isEmpty { return nil }
        var check = agent ?? AcceptanceCheck(command: command)
        check.command = command
        return check
    }
}
