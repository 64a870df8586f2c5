import Foundation

/// What a synthetic instance's command does: how long it takes, what it prints, how it ends.
///
/// Without `--docker` nothing is run; the log is computed from the program and the clock. A
/// program comes from, in increasing precedence: the options' defaults, ``SimulatorOptions/programs``
/// for the create's image, then `SIM_*` variables in the create's `env`:
///
/// | variable | meaning |
/// |---|---|
/// | `SIM_EXIT_CODE` | the command's exit status (default 0) |
/// | `SIM_RUN_SECONDS` | how long it runs once loaded |
/// | `SIM_LOAD_SECONDS` | how long the instance stays `loading` |
/// | `SIM_OUTPUT` | its output: lines separated by newlines, spread evenly over the run |
/// | `SIM_LINE_INTERVAL` | seconds between the numbered lines printed when there is no `SIM_OUTPUT` |
/// | `SIM_SELF_STOP` | `1`/`true`: it stops its own instance at exit, like arkindex-base-worker |
///
/// Without `SIM_OUTPUT` the command prints `[sim] instance ID line N` every line interval, then
/// `[sim] instance ID finished with status S`. When the create runs Ergon's launch wrapper
/// (`onstart` set, `args` starting with `-c`, a label Ergon made), the log ends with the wrapper's
/// exit marker for that label and status, exactly as the wrapper would print it.
public struct SimulatedProgram: Sendable, Equatable {
    /// Seconds in `loading` before the command starts.
    public var loadSeconds: Double
    /// Seconds the command runs.
    public var runSeconds: Double
    /// Seconds between numbered lines (when ``output`` is nil).
    public var lineInterval: Double
    /// The exact lines to print, spread over the run; nil prints numbered lines.
    public var output: [String]?
    /// The exit status.
    public var exitCode: Int
    /// True when the command stops its own instance at exit (the stopped triple), like workers
    /// built on arkindex-base-worker, instead of leaving it `exited`.
    public var selfStop: Bool

    /// A program.
    public init(
        loadSeconds: Double = 2, runSeconds: Double = 10, lineInterval: Double = 1, output: [String]? = nil,
        exitCode: Int = 0, selfStop: Bool = false
    ) {
        self.loadSeconds = loadSeconds
        self.runSeconds = runSeconds
        self.lineInterval = lineInterval
        self.output = output
        self.exitCode = exitCode
        self.selfStop = selfStop
    }

    /// This program with the `SIM_*` variables of `env` applied.
    func overridden(by env: [String: String]) -> SimulatedProgram {
        var program = self
        if let value = env["SIM_EXIT_CODE"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            program.exitCode = value
        }
        if let value = env["SIM_RUN_SECONDS"].flatMap(Self.seconds) { program.runSeconds = value }
        if let value = env["SIM_LOAD_SECONDS"].flatMap(Self.seconds) { program.loadSeconds = value }
        if let value = env["SIM_LINE_INTERVAL"].flatMap(Self.seconds), value > 0 { program.lineInterval = value }
        if let value = env["SIM_OUTPUT"] {
            program.output = value.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        if let value = env["SIM_SELF_STOP"] {
            program.selfStop = ["1", "true", "True", "yes"].contains(value)
        }
        return program
    }

    private static func seconds(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value >= 0, value.isFinite else { return nil }
        return value
    }

    /// The lines printed by `elapsed` seconds into the run (all of them, and the final line, once
    /// the run is over).
    func lines(instanceID: Int, elapsed: Double, exitMarker: String?) -> [String] {
        let finished = elapsed >= runSeconds
        var printed: [String]
        if let output {
            // Line i appears at i/count of the run, so the first one is there as soon as it runs.
            let count = output.count
            let shown = finished ? count : min(count, Int((elapsed / max(runSeconds, 0.001)) * Double(count)) + 1)
            printed = Array(output.prefix(shown))
        } else {
            let total = Int(runSeconds / lineInterval)
            let shown = finished ? total : min(total, Int(elapsed / lineInterval))
            printed = shown > 0 ? (1...shown).map { "[sim] instance \(instanceID) line \($0)" } : []
            if finished { printed.append("[sim] instance \(instanceID) finished with status \(exitCode)") }
        }
        if finished, let exitMarker {
            printed.append(exitMarker)
        }
        return printed
    }
}
