/// A fault file that cannot be used, with the place at fault.
public struct FaultPlanError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
