import Foundation
import Yams

/// A node of a parsed YAML (or JSON) document together with the key path that reached it,
/// read through typed accessors whose faults name that path. The config and workflow
/// loaders share it and turn its faults into their own errors.
struct DocumentNode {
    /// Why a document or one of its nodes could not be read as asked.
    struct Fault: Error {
        enum Kind {
            case syntax, unknownKey, wrongType, invalidValue, missing, missingVariable, notAvailable, undeclared
        }
        var kind: Kind
        /// The key path at fault (`scheduler.poll_interval`, `resources[0].url`); empty for the whole document.
        var path: String
        var problem: String
        var line: Int?
    }

    /// A mapping's entries, in file order, after its keys were checked.
    struct Fields {
        let owner: DocumentNode
        let entries: [(key: String, value: DocumentNode)]

        /// The key's value as written, null included; nil only when the key is absent.
        func written(_ key: String) -> DocumentNode? { entries.first { $0.key == key }?.value }

        /// The key's value, or nil when it is absent or null.
        subscript(_ key: String) -> DocumentNode? {
            guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
            return value
        }

        /// The key's value; a fault when it is absent or null.
        func required(_ key: String, _ explanation: String) throws(Fault) -> DocumentNode {
            if let value = self[key] { return value }
            throw Fault(kind: .missing, path: owner.childPath(key), problem: "missing (\(explanation))", line: owner.line)
        }
    }

    let node: Node
    /// The key path of this node; empty for the root of its context.
    let path: String
    /// The environment `${VAR}` references are read from; nil where no substitution applies.
    let environment: [String: String]?

    init(node: Node, path: String, environment: [String: String]?) {
        self.node = node
        self.path = path
        self.environment = environment
    }

    /// The same node read with key paths relative to it (for errors that name their context apart).
    var detached: DocumentNode { DocumentNode(node: node, path: "", environment: environment) }

    /// The 1-based line the node starts on.
    var line: Int? { node.mark?.line }

    /// True for `null`, `~` and an empty plain value.
    var isNull: Bool {
        guard case .scalar(let scalar) = node else { return false }
        return (scalar.style == .plain || scalar.style == .any) && node.null != nil
    }

    /// True for a mapping node.
    var isMapping: Bool { node.mapping != nil }

    /// True for a sequence node.
    var isList: Bool { node.sequence != nil }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func fault(_ kind: Fault.Kind, _ problem: String) -> Fault {
        Fault(kind: kind, path: path, problem: problem, line: line)
    }

    /// How the node is shown in a message. A value taken from the environment is shown as
    /// written in the file (`"${TOKEN}"`), never as substituted, since it may be a secret.
    var shown: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull { return "null" }
            if environment != nil, EnvironmentSubstitution.refersToVariables(scalar.string) {
                return "\"\(scalar.string)\" (value from the environment not shown)"
            }
            return "\"\(scalar.string)\""
        }
    }

    /// The mapping's entries; a fault for a non-mapping, a non-scalar or duplicated key, or a
    /// key outside `allowed` (with the closest allowed key suggested). `unavailable` maps keys
    /// this build knows but does not offer yet to the problem reported for them. YAML merge
    /// keys (`<<: *defaults`) are expanded; keys written beside them win.
    func fields(allowed: [String], unavailable: [String: String] = [:]) throws(Fault) -> Fields {
        guard let mapping = node.mapping else { throw fault(.wrongType, "expected a mapping, got \(shown)") }
        var entries: [(key: String, value: DocumentNode)] = []
        var merged: [(key: String, value: DocumentNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw fault(.wrongType, "keys must be plain names, got \(DocumentNode(node: keyNode, path: path, environment: nil).shown)")
            }
            if keyScalar.string == "<<", keyScalar.style == .plain {
                for source in try mergeSources(valueNode) {
                    merged += try source.fields(allowed: allowed, unavailable: unavailable).entries
                }
                continue
            }
            let key = keyScalar.string
            let keyPath = childPath(key)
            if let problem = unavailable[key] {
                throw Fault(kind: .notAvailable, path: keyPath, problem: problem, line: keyNode.mark?.line)
            }
            guard allowed.contains(key) else {
                throw Fault(kind: .unknownKey, path: keyPath,
                            problem: "unknown key" + KeySuggestion.hint(for: key, among: allowed), line: keyNode.mark?.line)
            }
            entries.append((key, DocumentNode(node: valueNode, path: keyPath, environment: environment)))
        }
        for entry in merged where !entries.contains(where: { $0.key == entry.key }) {
            entries.append(entry)
        }
        return Fields(owner: self, entries: entries)
    }

    /// The entries of a free-form mapping (an `env` map), in file order, with scalar keys.
    func entries() throws(Fault) -> [(key: String, value: DocumentNode)] {
        guard let mapping = node.mapping else { throw fault(.wrongType, "expected a mapping, got \(shown)") }
        var entries: [(key: String, value: DocumentNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw fault(.wrongType, "keys must be plain names, got \(DocumentNode(node: keyNode, path: path, environment: nil).shown)")
            }
            entries.append((keyScalar.string, DocumentNode(node: valueNode, path: childPath(keyScalar.string), environment: environment)))
        }
        return entries
    }

    private func mergeSources(_ value: Node) throws(Fault) -> [DocumentNode] {
        switch value {
        case .mapping: return [DocumentNode(node: value, path: path, environment: environment)]
        case .sequence(let sequence) where sequence.allSatisfy({ $0.mapping != nil }):
            return sequence.map { DocumentNode(node: $0, path: path, environment: environment) }
        default: throw fault(.wrongType, "a merge key (<<) needs a mapping or a list of mappings")
        }
    }

    /// The list's items, with `[i]` key paths; a fault for anything but a list.
    func list() throws(Fault) -> [DocumentNode] {
        guard let sequence = node.sequence else { throw fault(.wrongType, "expected a list, got \(shown)") }
        return sequence.enumerated().map { index, item in
            DocumentNode(node: item, path: "\(path)[\(index)]", environment: environment)
        }
    }

    /// The scalar's text after `${VAR}` substitution; a fault for null, a mapping or a list.
    func string() throws(Fault) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw fault(.wrongType, "expected a string, got \(shown)")
        }
        guard let environment else { return scalar.string }
        do {
            return try EnvironmentSubstitution.apply(scalar.string, environment: environment)
        } catch {
            throw fault(.missingVariable, error.description)
        }
    }

    /// The scalar as a non-empty string (surrounding blanks removed).
    func nonEmptyString(_ what: String) throws(Fault) -> String {
        let text = try string().trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw fault(.invalidValue, "is empty (expected \(what))") }
        return text
    }

    /// The scalar as a whole number.
    func int() throws(Fault) -> Int {
        let text = try scalarText("an integer")
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw fault(.wrongType, "expected an integer, got \(shown)")
        }
        return value
    }

    /// The scalar as a whole number no smaller than `minimum`.
    func int(atLeast minimum: Int) throws(Fault) -> Int {
        let value = try int()
        guard value >= minimum else { throw fault(.invalidValue, "must be at least \(minimum), got \(shown)") }
        return value
    }

    /// The scalar as a finite number.
    func number() throws(Fault) -> Double {
        let text = try scalarText("a number")
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw fault(.wrongType, "expected a number, got \(shown)")
        }
        return value
    }

    /// The scalar as `true` or `false` (YAML's `yes`/`no`/`on`/`off` too).
    func bool() throws(Fault) -> Bool {
        switch try scalarText("true or false").trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fault(.wrongType, "expected true or false, got \(shown)")
        }
    }

    /// The scalar as a duration (`90s`, `10m`, `2h`, `1d`, `1h30m`, or seconds).
    func duration(positive: Bool) throws(Fault) -> Duration {
        let text = try scalarText(DurationParser.acceptedForms)
        guard let value = DurationParser.parse(text) else {
            throw fault(.invalidValue, "invalid duration \(shown) (expected \(DurationParser.acceptedForms))")
        }
        if positive, value <= .zero {
            throw fault(.invalidValue, "must be longer than zero, got \(shown) (expected \(DurationParser.acceptedForms))")
        }
        return value
    }

    /// The scalar as a size in bytes (`512MiB`, `50GB`, or bytes); more than zero when `positive`.
    func byteSize(positive: Bool) throws(Fault) -> Int64 {
        let text = try scalarText(ByteSizeParser.acceptedForms)
        guard let value = ByteSizeParser.parse(text) else {
            throw fault(.invalidValue, "invalid size \(shown) (expected \(ByteSizeParser.acceptedForms))")
        }
        if positive, value == 0 { throw fault(.invalidValue, "must be more than zero, got \(shown)") }
        return value
    }

    /// The scalar as a fraction from a percentage (`10%` is 0.1); a plain number is a percentage too.
    func percentage() throws(Fault) -> Double {
        let text = try scalarText("a percentage such as 10%").trimmingCharacters(in: .whitespaces)
        let digits = text.hasSuffix("%") ? String(text.dropLast()).trimmingCharacters(in: .whitespaces) : text
        guard let value = Double(digits), value.isFinite, value >= 0, value <= 1000 else {
            throw fault(.invalidValue, "invalid percentage \(shown) (expected a value from 0% to 1000%, e.g. 10%)")
        }
        return value / 100
    }

    /// The scalar text for a typed read, with a wrong-type fault naming `expected` otherwise.
    func scalarText(_ expected: String) throws(Fault) -> String {
        guard case .scalar = node, !isNull else { throw fault(.wrongType, "expected \(expected), got \(shown)") }
        return try string()
    }
}

extension DocumentNode {
    /// Parses one YAML or JSON document; nil when the text holds no document at all.
    static func parse(_ text: String, environment: [String: String]?) throws(Fault) -> DocumentNode? {
        // JSON allows tabs between tokens where YAML does not, and a literal tab cannot occur
        // inside a valid JSON string, so blanking them keeps the meaning and the line numbers.
        let trimmed = text.drop { $0.isWhitespace }
        let source = trimmed.first == "{" || trimmed.first == "[" ? text.replacingOccurrences(of: "\t", with: " ") : text
        let root: Node?
        do {
            root = try Yams.compose(yaml: source)
        } catch let error as YamlError {
            throw syntaxFault(error)
        } catch {
            throw Fault(kind: .syntax, path: "", problem: "invalid YAML: \(error)", line: nil)
        }
        return root.map { DocumentNode(node: $0, path: "", environment: environment) }
    }

    private static func syntaxFault(_ error: YamlError) -> Fault {
        func fault(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> Fault {
            let during = context.map { " \($0.text)" } ?? ""
            return Fault(kind: .syntax, path: "", problem: "invalid YAML: \(problem)\(during) (column \(mark.column))",
                         line: mark.line)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return fault(problem, context, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return Fault(kind: .syntax, path: "", problem: "duplicate key \(keys) in one mapping", line: context.mark.line)
        case .reader(let problem, _, _, _):
            return Fault(kind: .syntax, path: "", problem: "unreadable text: \(problem)", line: nil)
        default:
            return Fault(kind: .syntax, path: "", problem: "invalid YAML: \(error)", line: nil)
        }
    }
}
