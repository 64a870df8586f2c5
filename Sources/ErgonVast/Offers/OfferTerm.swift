/// One condition of an offer filter: `field op value`, e.g. `num_gpus eq 1`.
public struct OfferTerm: Sendable, Hashable, CustomStringConvertible {
    /// The offer field the term tests.
    public var field: String
    /// The comparison.
    public var op: OfferOperator
    /// The value compared against: a scalar, or a list for `in`/`notin`.
    public var value: JSONValue

    /// Creates a term.
    public init(field: String, op: OfferOperator, value: JSONValue) {
        self.field = field
        self.op = op
        self.value = value
    }

    /// The term as `field op value`, the value in JSON.
    public var description: String { "\(field) \(op.rawValue) \(value.jsonText)" }
}
