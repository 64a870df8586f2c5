/// The simulator could not start (no Docker engine for `--docker`, the port taken, …).
public struct SimulatorStartError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}
