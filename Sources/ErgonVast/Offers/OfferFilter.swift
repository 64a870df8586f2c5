/// An offer filter in the API's flat JSON form: `{field: {op: value}}`, several operators on one
/// field meaning all of them (`{"num_gpus": {"gte": "1", "lte": "4"}}`).
///
/// Values are kept as the CLI would send them (`"1"`, `24000.0`, `true`, `null`, lists); how they
/// compare against offers is decided by `OfferScalar`.
public struct OfferFilter: Sendable, Equatable {
    /// The terms by field, then by operator. Changing them recompiles the evaluator.
    public var fields: [String: [OfferOperator: JSONValue]] {
        didSet { compiled = CompiledOfferFilter(terms: Self.terms(of: fields)) }
    }

    /// The evaluator for the current terms, built once so `matches` does no per-offer set-up.
    public private(set) var compiled: CompiledOfferFilter

    /// A filter with the given terms.
    public init(fields: [String: [OfferOperator: JSONValue]] = [:]) {
        self.fields = fields
        self.compiled = CompiledOfferFilter(terms: Self.terms(of: fields))
    }

    /// Reads the body of a `POST /api/v0/bundles/` request (or a bare filter), ignoring the keys
    /// that are not filters: `order`, `type`, `limit`, `allocated_storage` and `disable_bundling`.
    public init(json: JSONValue) throws(OfferQueryError) {
        guard case .object(let members) = json else {
            throw OfferQueryError(code: .invalidFilter, token: json.jsonText, position: nil,
                                  message: "an offer filter is a JSON object of {field: {op: value}}")
        }
        var fields: [String: [OfferOperator: JSONValue]] = [:]
        for (field, ops) in members where !Self.requestKeys.contains(field) {
            guard case .object(let byName) = ops else {
                throw OfferQueryError(code: .invalidFilter, token: field, position: nil,
                                      message: "filter field \"\(field)\" must map to {op: value}, got \(ops.jsonText)")
            }
            for (name, value) in byName {
                guard let op = OfferOperator(rawValue: name) else {
                    throw OfferQueryError(code: .invalidFilter, token: name, position: nil,
                                          message: "unknown operator \"\(name)\" on \"\(field)\" (expected one of: "
                                              + OfferOperator.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                }
                fields[field, default: [:]][op] = value
            }
        }
        self.init(fields: fields)
    }

    /// The filter as the flat JSON object the API takes.
    public var json: JSONValue {
        .object(fields.mapValues { ops in .object(Dictionary(uniqueKeysWithValues: ops.map { ($0.key.rawValue, $0.value) })) })
    }

    /// Every term, ordered by field name and then operator (eq neq gt gte lt lte in notin): the
    /// order `firstFailingTerm` checks them in.
    public var terms: [OfferTerm] { compiled.terms }

    /// The terms on one field.
    public subscript(field: String) -> [OfferOperator: JSONValue]? {
        get { fields[field] }
        set { fields[field] = newValue }
    }

    /// The complete body of `POST /api/v0/bundles/`: the filter's fields at the top level beside
    /// `order` (`[[field, "asc"|"desc"], …]`), `type`, `limit` and, when given, `allocated_storage`
    /// (GB; the server adds its cost into `dph_total` and filters on `disk_space`).
    public func requestBody(
        limit: Int, order: [(String, String)] = [("dph_total", "asc")], allocatedStorage: Double?,
        type: String = "on-demand"
    ) -> JSONValue {
        guard case .object(var body) = json else { return json }
        body["order"] = .array(order.map { .array([.string($0.0), .string($0.1)]) })
        body["type"] = .string(type)
        body["limit"] = .number(Double(limit))
        if let allocatedStorage { body["allocated_storage"] = .number(allocatedStorage) }
        return .object(body)
    }

    /// Filters are equal when they hold the same terms with the same JSON values.
    public static func == (lhs: OfferFilter, rhs: OfferFilter) -> Bool {
        lhs.fields == rhs.fields
    }

    static func terms(of fields: [String: [OfferOperator: JSONValue]]) -> [OfferTerm] {
        fields.keys.sorted().flatMap { field in
            fields[field]!.sorted { $0.key.rank < $1.key.rank }.map { OfferTerm(field: field, op: $0.key, value: $0.value) }
        }
    }

    private static let requestKeys: Set<String> = ["order", "type", "limit", "allocated_storage", "disable_bundling"]
}

extension OfferFilter: ExpressibleByDictionaryLiteral {
    /// A filter written out: `["num_gpus": [.eq: "1"], "reliability": [.gt: 0.98]]`.
    public init(dictionaryLiteral elements: (String, [OfferOperator: JSONValue])...) {
        self.init(fields: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
