/// A workflow file that cannot be submitted, naming the file, the task and the fix.
/// Reads `<file>: task "<slug>": <key>: <problem>`, or `<file>: tasks[3]: …` when the task
/// has no usable slug, or `<file>: <key>: <problem>` for the workflow as a whole.
public struct WorkflowError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of mistake the file holds.
    public enum Kind: String, Equatable, Sendable {
        /// The file does not exist.
        case noSuchFile
        /// The file exists but cannot be read as UTF-8 text.
        case unreadable
        /// The text is not valid YAML or JSON.
        case syntax
        /// A key Ergon does not know.
        case unknownKey
        /// A required key (`name`, `slug`, `image`, …) is absent.
        case missingField
        /// A value of the wrong type.
        case wrongType
        /// A value of the right type that is not acceptable (a bad timeout, an empty command, a bad resource).
        case invalidValue
        /// Two tasks share a slug.
        case duplicateSlug
        /// A parent names no task of the workflow.
        case unknownParent
        /// Parents form a cycle (or a task is its own parent).
        case cycle
        /// A task mounts a volume the workflow does not declare.
        case undeclaredVolume
        /// Something Ergon understands but does not support (some Nosana features).
        case unsupported
    }

    /// What kind of mistake this is.
    public var kind: Kind
    /// The workflow file, as named by the caller.
    public var file: String
    /// The slug of the task at fault, when it has one.
    public var task: String?
    /// Where the task sits: `task "htr"`, `tasks[3]`, `ops[1]`; empty for the workflow as a whole.
    public var location: String
    /// The key path at fault inside `location` (`timeout`, `resources[0].url`); may be empty.
    public var keyPath: String
    /// The 1-based line of the problem, when known.
    public var line: Int?
    /// What is wrong and how to fix it.
    public var problem: String

    /// Creates an error.
    public init(
        kind: Kind, file: String, task: String? = nil, location: String = "", keyPath: String = "", line: Int? = nil,
        problem: String
    ) {
        self.kind = kind
        self.file = file
        self.task = task
        self.location = location
        self.keyPath = keyPath
        self.line = line
        self.problem = problem
    }

    /// The message shown to the user.
    public var description: String {
        if kind == .syntax, let line { return "\(file): line \(line): \(problem)" }
        return [file, location, keyPath, problem].filter { !$0.isEmpty }.joined(separator: ": ")
    }
}

extension WorkflowError {
    init(_ fault: DocumentNode.Fault, file: String, task: String? = nil, location: String = "") {
        let kind: Kind
        switch fault.kind {
        case .syntax: kind = .syntax
        case .unknownKey: kind = .unknownKey
        case .wrongType: kind = .wrongType
        case .invalidValue, .missingVariable: kind = .invalidValue
        case .missing: kind = .missingField
        case .notAvailable: kind = .unsupported
        case .undeclared: kind = .undeclaredVolume
        }
        self.init(kind: kind, file: file, task: task, location: location, keyPath: fault.path, line: fault.line,
                  problem: fault.problem)
    }
}
