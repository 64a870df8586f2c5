import Foundation

/// Replaces `${VAR}` and `${VAR:-default}` in a config value with values from the
/// environment; `$$` stands for one `$`, and any other `$` is kept as written.
public enum EnvironmentSubstitution {
    /// Why a value could not be substituted. Never carries a variable's value.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// `${NAME}` names a variable that is not set and gives no default.
        case undefinedVariable(String)
        /// A `${` has no closing `}`.
        case unterminated
        /// The text between `${` and `}` is not a variable name.
        case invalidName(String)

        /// The message, naming the variable but never a value.
        public var description: String {
            switch self {
            case .undefinedVariable(let name):
                return "environment variable \(name) is not set (set it, or give a default with ${\(name):-value})"
            case .unterminated:
                return "\"${\" has no closing \"}\" (write $$ for a literal dollar sign)"
            case .invalidName(let name):
                return "\"${\(name)}\" is not a valid variable reference (use ${NAME} or ${NAME:-default}; write $$ for a literal dollar sign)"
            }
        }
    }

    /// True when `text` refers to at least one variable, so its final value came from the environment.
    public static func refersToVariables(_ text: String) -> Bool {
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            let next = rest.index(after: dollar)
            if next < rest.endIndex, rest[next] == "{" { return true }
            rest = next < rest.endIndex && rest[next] == "$" ? rest[rest.index(after: next)...] : rest[next...]
        }
        return false
    }

    /// `text` with every reference replaced. `${NAME:-default}` uses the default when
    /// `NAME` is unset or empty, as the shell does.
    public static func apply(_ text: String, environment: [String: String]) throws(Failure) -> String {
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let next = rest.index(after: dollar)
            guard next < rest.endIndex else {
                output += "$"
                rest = rest[next...]
                break
            }
            switch rest[next] {
            case "$":
                output += "$"
                rest = rest[rest.index(after: next)...]
            case "{":
                let body = rest[rest.index(after: next)...]
                guard let close = body.firstIndex(of: "}") else { throw .unterminated }
                output += try value(of: body[..<close], environment: environment)
                rest = body[body.index(after: close)...]
            default:
                output += "$"
                rest = rest[next...]
            }
        }
        return output + rest
    }

    private static func value(of reference: Substring, environment: [String: String]) throws(Failure) -> String {
        let name: Substring
        let fallback: Substring?
        if let separator = reference.range(of: ":-") {
            name = reference[..<separator.lowerBound]
            fallback = reference[separator.upperBound...]
        } else {
            name = reference
            fallback = nil
        }
        guard isVariableName(name) else { throw .invalidName(String(reference)) }
        if let fallback {
            if let set = environment[String(name)], !set.isEmpty { return set }
            return String(fallback)
        }
        guard let set = environment[String(name)] else { throw .undefinedVariable(String(name)) }
        return set
    }

    /// True for names the shell accepts: a letter or `_`, then letters, digits or `_`.
    public static func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
