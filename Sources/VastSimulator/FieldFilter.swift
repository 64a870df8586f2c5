import ErgonVast

/// A flat filter `{"field": {"op": value, …}, …}` over JSON objects: what `select_filters` of the
/// instance listing takes (ops `eq neq gt gte lt lte in notin`; several ops on a field are ANDed).
struct FieldFilter: Sendable {
    /// One `field op value` test.
    struct Condition: Sendable {
        var field: String
        var op: String
        var value: JSONValue
    }

    /// The tests, all of which must pass.
    var conditions: [Condition]

    static let operators: Set<String> = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"]

    /// Reads a filter object, leaving out the keys in `ignoring` (`order`, `limit`, …).
    init(json: JSONValue, ignoring: Set<String> = []) throws(SimulatorAPIError) {
        guard case .object(let members) = json else {
            throw .invalidArguments("the filter must be a JSON object")
        }
        var conditions: [Condition] = []
        for (field, spec) in members.sorted(by: { $0.key < $1.key }) where !ignoring.contains(field) {
            guard case .object(let ops) = spec else {
                throw .invalidArguments("filter on \(field) must be an object of operators, got \(spec.jsonText)")
            }
            for (op, value) in ops.sorted(by: { $0.key < $1.key }) {
                guard Self.operators.contains(op) else {
                    throw .invalidArguments("unknown operator \(op) on \(field)")
                }
                if op == "in" || op == "notin", value.arrayValue == nil {
                    throw .invalidArguments("\(op) on \(field) needs a list")
                }
                conditions.append(Condition(field: field, op: op, value: value))
            }
        }
        self.conditions = conditions
    }

    /// True when `object` passes every condition.
    func matches(_ object: [String: JSONValue]) -> Bool {
        conditions.allSatisfy { Self.test($0, object[$0.field]) }
    }

    private static func test(_ condition: Condition, _ actual: JSONValue?) -> Bool {
        switch condition.op {
        case "eq": return JSONOrdering.equal(actual ?? .null, condition.value)
        case "neq": return !JSONOrdering.equal(actual ?? .null, condition.value)
        case "in": return (condition.value.arrayValue ?? []).contains { JSONOrdering.equal(actual ?? .null, $0) }
        case "notin": return !(condition.value.arrayValue ?? []).contains { JSONOrdering.equal(actual ?? .null, $0) }
        default:
            guard let actual, actual != .null, let order = JSONOrdering.compare(actual, condition.value) else { return false }
            switch condition.op {
            case "gt": return order > 0
            case "gte": return order >= 0
            case "lt": return order < 0
            default: return order <= 0
            }
        }
    }
}
