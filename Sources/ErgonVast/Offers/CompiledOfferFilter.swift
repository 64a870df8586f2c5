/// An offer filter prepared for evaluating many offers: values are coerced once (see `OfferScalar`)
/// and terms are grouped by field, so checking an offer costs one dictionary lookup per field
/// and a few comparisons, without allocating for the usual values.
///
/// Semantics, per term, for the offer's value of the term's field:
/// - a missing field fails every term; null passes only `eq null` (and `in` lists holding null),
///   like SQL, where null compares as unknown;
/// - `eq`/`neq`: equal after coercion; a value that cannot be coerced (a word against a number)
///   is not equal; `neq null` means "not null";
/// - `gt`/`gte`/`lt`/`lte`: numbers by value, strings by code point; anything that cannot be ordered
///   against the target (null, a word against a number, a list) fails;
/// - `in`/`notin`: `eq` against each item; a scalar filter value counts as a one-item list.
public struct CompiledOfferFilter: Sendable {
    /// The terms in evaluation order (field name, then operator).
    public let terms: [OfferTerm]

    // Flat arrays rather than nested enums: walking them reads plain values without retaining
    // strings or arrays, which matters at millions of offers per second.
    /// The field of each group of checks.
    private let fields: [String]
    /// Where each group's checks end in `checks` (each starts where the previous one ended).
    private let groupEnds: [Int]
    /// One check per term, grouped by field.
    private let checks: [Check]
    /// The items of `in`/`notin` lists, each list a range of `Check.items`.
    private let items: [Check]
    /// The string targets, by `Check.text`; kept out of `Check` so that a check is plain data.
    private let texts: [String]

    private struct Check: Sendable {
        enum Kind: UInt8, Sendable {
            case number, string, null, anyOf, noneOf
            /// A term no value can pass (ordering against null, a list where a scalar belongs).
            case never
        }

        var kind: Kind
        var op: OfferOperator = .eq
        /// For numbers: read dotted strings as driver versions; for strings: compare country codes.
        var flag = false
        var number = 0.0
        /// The index of the target in `texts`.
        var text = 0
        var items: Range<Int> = 0..<0
        var termIndex = 0
    }

    /// Prepares the terms of a filter.
    public init(_ filter: OfferFilter) {
        self = filter.compiled
    }

    init(terms: [OfferTerm]) {
        self.terms = terms
        var fields: [String] = []
        var groupEnds: [Int] = []
        var checks: [Check] = []
        var items: [Check] = []
        var texts: [String] = []
        for (index, term) in terms.enumerated() {
            if fields.last != term.field {
                fields.append(term.field)
                groupEnds.append(checks.count)
            }
            var check = Self.check(for: term, items: &items, texts: &texts)
            check.termIndex = index
            checks.append(check)
            groupEnds[groupEnds.count - 1] = checks.count
        }
        self.fields = fields
        self.groupEnds = groupEnds
        self.checks = checks
        self.items = items
        self.texts = texts
    }

    /// Whether the offer (a JSON object) passes every term.
    public func matches(_ offer: JSONValue) -> Bool {
        guard case .object(let members) = offer else { return terms.isEmpty }
        return matches(members)
    }

    /// Whether the offer's members pass every term.
    public func matches(_ offer: [String: JSONValue]) -> Bool {
        firstFailingIndex(offer) == nil
    }

    /// The first term (in `terms` order) the offer fails; nil when it passes them all.
    public func firstFailingTerm(_ offer: JSONValue) -> OfferTerm? {
        guard case .object(let members) = offer else { return terms.first }
        return firstFailingIndex(members).map { terms[$0] }
    }

    /// The index in `terms` of the first term the offer fails; nil when it passes them all.
    public func firstFailingIndex(_ offer: [String: JSONValue]) -> Int? {
        fields.withUnsafeBufferPointer { fields in
            checks.withUnsafeBufferPointer { checks in
                items.withUnsafeBufferPointer { items in
                    texts.withUnsafeBufferPointer { texts in
                        var start = 0
                        for group in fields.indices {
                            let end = groupEnds[group]
                            guard let value = offer[fields[group]] else { return checks[start].termIndex }
                            for index in start..<end where !Self.passes(value, checks[index], items, texts) {
                                return checks[index].termIndex
                            }
                            start = end
                        }
                        return nil
                    }
                }
            }
        }
    }

    private static func check(for term: OfferTerm, items: inout [Check], texts: inout [String]) -> Check {
        let country = term.field == "geolocation"
        let version = OfferFields.kind(of: term.field) == .version
        switch term.op {
        case .in, .notin:
            let start = items.count
            for item in term.value.arrayValue ?? [term.value] {
                let target = OfferScalar.target(item, field: term.field)
                items.append(scalarCheck(.eq, target, version: version, country: country, texts: &texts))
            }
            return Check(kind: term.op == .in ? .anyOf : .noneOf, items: start..<items.count)
        default:
            let target = OfferScalar.target(term.value, field: term.field)
            return scalarCheck(term.op, target, version: version, country: country, texts: &texts)
        }
    }

    private static func scalarCheck(
        _ op: OfferOperator, _ target: OfferScalar?, version: Bool, country: Bool, texts: inout [String]
    ) -> Check {
        switch target {
        case .number(let number): return Check(kind: .number, op: op, flag: version, number: number)
        case .string(let text):
            texts.append(text)
            return Check(kind: .string, op: op, flag: country, text: texts.count - 1)
        case .null: return Check(kind: op == .eq || op == .neq ? .null : .never, op: op)
        case nil: return Check(kind: .never, op: op)
        }
    }

    private static func passes(
        _ value: JSONValue, _ check: Check, _ items: UnsafeBufferPointer<Check>, _ texts: UnsafeBufferPointer<String>
    ) -> Bool {
        switch check.kind {
        case .number:
            switch value {
            case .number(let number): return compare(number, check.number, check.op)
            case .bool(let flag): return compare(flag ? 1 : 0, check.number, check.op)
            case .string(let text):
                guard let number = OfferScalar.number(fromOffer: text, version: check.flag) else { return check.op == .neq }
                return compare(number, check.number, check.op)
            case .null: return false
            case .array, .object: return check.op == .neq
            }
        case .string:
            guard case .string(let text) = value else { return !isNull(value) && check.op == .neq }
            return compare(check.flag ? OfferScalar.countryCode(text) : Substring(text).utf8, texts[check.text], check.op)
        case .null:
            return isNull(value) == (check.op == .eq)
        case .anyOf:
            for index in check.items where passes(value, items[index], items, texts) { return true }
            return false
        case .noneOf:
            guard !isNull(value) else { return false }
            for index in check.items where passes(value, items[index], items, texts) { return false }
            return true
        case .never:
            return false
        }
    }

    private static func isNull(_ value: JSONValue) -> Bool {
        if case .null = value { return true }
        return false
    }

    private static func compare(_ value: Double, _ target: Double, _ op: OfferOperator) -> Bool {
        switch op {
        case .eq, .in: return value == target
        case .neq, .notin: return value != target
        case .gt: return value > target
        case .gte: return value >= target
        case .lt: return value < target
        case .lte: return value <= target
        }
    }

    /// Strings compare by exact UTF-8 bytes (so by code point), as the server's database does.
    private static func compare(_ value: Substring.UTF8View, _ target: String, _ op: OfferOperator) -> Bool {
        switch op {
        case .eq, .in: return bytesEqual(value, target.utf8)
        case .neq, .notin: return !bytesEqual(value, target.utf8)
        case .gt: return target.utf8.lexicographicallyPrecedes(value)
        case .gte: return !value.lexicographicallyPrecedes(target.utf8)
        case .lt: return value.lexicographicallyPrecedes(target.utf8)
        case .lte: return !target.utf8.lexicographicallyPrecedes(value)
        }
    }

    /// Byte equality over contiguous storage when both sides have it (native strings do), which
    /// is several times faster than the generic element-by-element walk.
    private static func bytesEqual(_ lhs: Substring.UTF8View, _ rhs: String.UTF8View) -> Bool {
        guard lhs.count == rhs.count else { return false }
        let fast = lhs.withContiguousStorageIfAvailable { left in
            rhs.withContiguousStorageIfAvailable { right in left.elementsEqual(right) }
        }
        return (fast ?? nil) ?? lhs.elementsEqual(rhs)
    }
}
