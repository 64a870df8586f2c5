/// A configuration file that cannot be used, with the key at fault and how to fix it.
/// Reads `<file>: <key.path>: <problem>`.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of mistake the file holds.
    public enum Kind: String, Equatable, Sendable {
        /// The file does not exist.
        case noSuchFile
        /// The file exists but cannot be read as UTF-8 text.
        case unreadable
        /// The text is not valid YAML.
        case syntax
        /// A key Ergon does not know.
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the wrong type (a list where a string belongs, text where a number belongs).
        case wrongType
        /// A value of the right type that is not acceptable (a bad duration, a relative path).
        case invalidValue
        /// A `${VAR}` reference that cannot be resolved.
        case missingVariable
        /// A setting this build knows but does not offer yet.
        case notAvailable
    }

    /// What kind of mistake this is.
    public var kind: Kind
    /// The config file, as named by the caller.
    public var file: String
    /// The dotted key path at fault (`scheduler.poll_interval`, `docker.registries[0].host`); empty for the whole file.
    public var keyPath: String
    /// The 1-based line of the problem, when known.
    public var line: Int?
    /// What is wrong and how to fix it.
    public var problem: String

    /// Creates an error; `keyPath` empty means the file as a whole.
    public init(kind: Kind, file: String, keyPath: String, line: Int? = nil, problem: String) {
        self.kind = kind
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.problem = problem
    }

    /// The message shown to the user.
    public var description: String {
        if kind == .syntax, let line { return "\(file): line \(line): \(problem)" }
        return keyPath.isEmpty ? "\(file): \(problem)" : "\(file): \(keyPath): \(problem)"
    }
}

extension ConfigError {
    init(_ fault: DocumentNode.Fault, file: String) {
        let kind: Kind
        switch fault.kind {
        case .syntax: kind = .syntax
        case .unknownKey: kind = .unknownKey
        case .wrongType: kind = .wrongType
        case .invalidValue, .undeclared: kind = .invalidValue
        case .missing: kind = .missingKey
        case .missingVariable: kind = .missingVariable
        case .notAvailable: kind = .notAvailable
        }
        self.init(kind: kind, file: file, keyPath: fault.path, line: fault.line, problem: fault.problem)
    }
}
