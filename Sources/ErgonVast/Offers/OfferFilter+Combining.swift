extension OfferFilter {
    /// Both filters at once (an offer must pass both), still in the flat one-value-per-operator
    /// form the API takes. Fields only one side has are copied; on a shared field:
    ///
    /// - `gt`/`gte` keep the stricter lower bound and `lt`/`lte` the stricter upper one (at equal
    ///   values the strict operator wins), so at most one of each pair remains;
    /// - `in` lists intersect and `notin` lists unite;
    /// - `neq` on two different values becomes `notin` of both;
    /// - `eq` on two different values keeps the first and adds the second as an `in` list (or
    ///   intersects it into the existing one): `{eq: a, in: [b]}` means both terms to the server
    ///   too, and `isUnsatisfiable` reports the contradiction;
    /// - two bounds that cannot be ordered against each other (a number and a word) keep the first
    ///   and add an empty `in` list, which nothing passes: a tighter filter is the safe error.
    ///
    /// Values are compared after coercion (`"1"` and `1` are the same value); the first filter's
    /// spelling is kept.
    public func and(_ other: OfferFilter) -> OfferFilter {
        var result = fields
        for (field, ops) in other.fields {
            var merged = result[field] ?? [:]
            for op in ops.keys.sorted(by: { $0.rank < $1.rank }) {
                Self.merge(op, ops[op]!, into: &merged, field: field)
            }
            Self.keepStricterBounds(&merged, field: field)
            result[field] = merged
        }
        return OfferFilter(fields: result)
    }

    /// Whether some field's terms contradict each other, so that no offer can pass
    /// (e.g. `{eq: 1, in: [2]}`, `in: []`, `{gt: 5, lt: 3}`, `eq` and `neq` on one value).
    /// Such a filter need not be sent: the answer is known to be empty.
    public var isUnsatisfiable: Bool {
        fields.contains { Self.isUnsatisfiable(field: $0.key, ops: $0.value) }
    }

    private static func merge(_ op: OfferOperator, _ value: JSONValue, into ops: inout [OfferOperator: JSONValue], field: String) {
        guard let existing = ops[op] else {
            ops[op] = value
            return
        }
        switch op {
        case .eq:
            guard !same(existing, value, field) else { return }
            ops[.in] = .array(ops[.in].map { intersection(items($0), [value], field) } ?? [value])
        case .neq:
            guard !same(existing, value, field) else { return }
            ops[.neq] = nil
            ops[.notin] = .array(union(ops[.notin].map(items) ?? [], [existing, value], field))
        case .in:
            ops[.in] = .array(intersection(items(existing), items(value), field))
        case .notin:
            ops[.notin] = .array(union(items(existing), items(value), field))
        case .gt, .gte, .lt, .lte:
            guard let order = order(existing, value, field) else {
                ops[.in] = .array([])
                return
            }
            let wantsLarger = op == .gt || op == .gte
            if (order < 0) == wantsLarger && order != 0 { ops[op] = value }
        }
    }

    /// `gt 5` with `gte 7` is just `gte 7`; `lt 3` with `lte 3` is just `lt 3`.
    private static func keepStricterBounds(_ ops: inout [OfferOperator: JSONValue], field: String) {
        if let strict = ops[.gt], let loose = ops[.gte], let order = order(strict, loose, field) {
            ops[order < 0 ? .gt : .gte] = nil
        }
        if let strict = ops[.lt], let loose = ops[.lte], let order = order(strict, loose, field) {
            ops[order > 0 ? .lt : .lte] = nil
        }
    }

    private static func isUnsatisfiable(field: String, ops: [OfferOperator: JSONValue]) -> Bool {
        let checks = CompiledOfferFilter(terms: terms(of: [field: ops]))
        // With eq or in, only their values can pass: satisfiable if one of them passes the rest.
        if let candidates = ops[.eq].map({ [$0] }) ?? ops[.in].map(items) {
            return !candidates.contains { candidate in
                guard let target = OfferScalar.target(candidate, field: field) else { return false }
                return checks.matches([field: target.json])
            }
        }
        let lower = [OfferOperator.gt, .gte].compactMap { op in ops[op].map { (op, $0) } }
        let upper = [OfferOperator.lt, .lte].compactMap { op in ops[op].map { (op, $0) } }
        // Nothing orders against null or a list.
        let unorderable = (lower + upper).contains { _, value in
            OfferScalar.target(value, field: field).map { $0 == .null } ?? true
        }
        if unorderable { return true }
        for (lowOp, low) in lower {
            for (highOp, high) in upper {
                guard let order = order(low, high, field) else { continue }
                if order > 0 || (order == 0 && (lowOp == .gt || highOp == .lt)) { return true }
            }
        }
        return false
    }

    private static func items(_ value: JSONValue) -> [JSONValue] {
        value.arrayValue ?? [value]
    }

    private static func same(_ lhs: JSONValue, _ rhs: JSONValue, _ field: String) -> Bool {
        if lhs == rhs { return true }
        guard let left = OfferScalar.target(lhs, field: field) else { return false }
        return left == OfferScalar.target(rhs, field: field)
    }

    private static func order(_ lhs: JSONValue, _ rhs: JSONValue, _ field: String) -> Int? {
        guard let left = OfferScalar.target(lhs, field: field), let right = OfferScalar.target(rhs, field: field) else {
            return nil
        }
        return OfferScalar.compare(left, right)
    }

    private static func intersection(_ lhs: [JSONValue], _ rhs: [JSONValue], _ field: String) -> [JSONValue] {
        lhs.filter { item in rhs.contains { same(item, $0, field) } }
    }

    private static func union(_ lhs: [JSONValue], _ rhs: [JSONValue], _ field: String) -> [JSONValue] {
        rhs.reduce(into: lhs) { result, item in
            if !result.contains(where: { same($0, item, field) }) { result.append(item) }
        }
    }
}
