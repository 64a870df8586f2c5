import ErgonVast

/// How the simulator compares JSON values, for ordering results and for `select_filters`.
///
/// Numbers compare numerically, strings lexically, `false < true`; a number and a numeric string
/// compare as numbers, since the CLI sends numbers as strings (`{"eq": "1"}`) and the server
/// coerces them. Missing values and nulls sort after everything else.
enum JSONOrdering {
    /// -1, 0 or 1 as `lhs` sorts before, with or after `rhs`; nil when they cannot be compared.
    static func compare(_ lhs: JSONValue?, _ rhs: JSONValue?) -> Int? {
        switch (lhs ?? .null, rhs ?? .null) {
        case (.null, .null): return 0
        case (.null, _): return 1
        case (_, .null): return -1
        case (.number(let a), .number(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.string(let a), .string(let b)):
            if let x = Double(a), let y = Double(b) { return x < y ? -1 : (x > y ? 1 : 0) }
            return a < b ? -1 : (a > b ? 1 : 0)
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.number(let a), .string(let b)):
            guard let y = Double(b) else { return nil }
            return a < y ? -1 : (a > y ? 1 : 0)
        case (.string(let a), .number(let b)):
            guard let x = Double(a) else { return nil }
            return x < b ? -1 : (x > b ? 1 : 0)
        case (.bool(let a), .string(let b)):
            guard let y = boolWord(b) else { return nil }
            return a == y ? 0 : (a ? 1 : -1)
        case (.string(let a), .bool(let b)):
            guard let x = boolWord(a) else { return nil }
            return x == b ? 0 : (x ? 1 : -1)
        case (.bool(let a), .number(let b)):
            let x: Double = a ? 1 : 0
            return x < b ? -1 : (x > b ? 1 : 0)
        case (.number(let a), .bool(let b)):
            let y: Double = b ? 1 : 0
            return a < y ? -1 : (a > y ? 1 : 0)
        default:
            return lhs == rhs ? 0 : nil
        }
    }

    /// True when the two values are equal after the coercions of ``compare(_:_:)``.
    static func equal(_ lhs: JSONValue?, _ rhs: JSONValue?) -> Bool {
        compare(lhs, rhs) == 0
    }

    private static func boolWord(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "1": return true
        case "false", "False", "0": return false
        default: return nil
        }
    }

    /// Sorts `items` by `keys` (field, ascending?) with a stable order; items equal on every key
    /// keep their relative order.
    static func sorted(_ items: [[String: JSONValue]], by keys: [(field: String, ascending: Bool)]) -> [[String: JSONValue]] {
        guard !keys.isEmpty else { return items }
        return items.enumerated().sorted { left, right in
            for key in keys {
                let a = left.element[key.field]
                let b = right.element[key.field]
                let order = compare(a, b) ?? 0
                if order == 0 { continue }
                // Nulls stay last whatever the direction.
                if a == nil || a == .null { return false }
                if b == nil || b == .null { return true }
                return key.ascending ? order < 0 : order > 0
            }
            return left.offset < right.offset
        }.map(\.element)
    }
}
