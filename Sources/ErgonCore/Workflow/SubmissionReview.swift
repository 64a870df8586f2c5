/// What a look at a workflow before it is queued found: problems refuse it, warnings do not.
public struct SubmissionReview: Equatable, Sendable {
    /// Each a reason the workflow cannot be queued, naming the task and field at fault.
    public var problems: [String]
    /// What could not be checked, and why; the workflow is queued anyway.
    public var warnings: [String]

    public init(problems: [String] = [], warnings: [String] = []) {
        self.problems = problems
        self.warnings = warnings
    }

    /// Both reviews' findings.
    public func merged(with other: SubmissionReview) -> SubmissionReview {
        SubmissionReview(problems: problems + other.problems, warnings: warnings + other.warnings)
    }
}
