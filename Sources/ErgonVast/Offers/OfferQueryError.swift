/// Why an offer query or filter was refused, pointing at the token that caused it.
public struct OfferQueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem; compare against the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unconsumedText, unknownOperator, blankValue, wildcardOperator, invalidNumber
            case invalidValue, unknownField, refusedByErgon, invalidFilter
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Text the grammar cannot read, usually a value with unquoted spaces.
        public static let unconsumedText = Code(.unconsumedText)
        /// A missing operator or a run of symbols that is not one (`=>`).
        public static let unknownOperator = Code(.unknownOperator)
        /// An operator with no value after it, or a list with no items.
        public static let blankValue = Code(.blankValue)
        /// `any`, `*` or `?` with an operator other than equals.
        public static let wildcardOperator = Code(.wildcardOperator)
        /// A value that must be a number (a field the CLI converts units for) and is not.
        public static let invalidNumber = Code(.invalidNumber)
        /// A value the CLI cannot encode for its field (a list for a unit-converted field,
        /// a dotted `driver_version` in a list).
        public static let invalidValue = Code(.invalidValue)
        /// A field `vastai search offers` does not know.
        public static let unknownField = Code(.unknownField)
        /// A valid query that Ergon will not run (see `OfferQuery.validateForErgon()`).
        public static let refusedByErgon = Code(.refusedByErgon)
        /// A JSON filter body that is not `{field: {op: value}}`.
        public static let invalidFilter = Code(.invalidFilter)

        /// The code's name, e.g. `unknownField`.
        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// The offending token as written (a field, an operator, a whole term).
    public var token: String
    /// The token's character offset in the query text (0-based); nil when it has no place there.
    public var position: Int?
    /// What is wrong and, where possible, how to fix it.
    public var message: String

    /// Creates an error.
    public init(code: Code, token: String, position: Int?, message: String) {
        self.code = code
        self.token = token
        self.position = position
        self.message = message
    }

    /// `at "gpu_nme" (column 1): unknown field "gpu_nme" (did you mean "gpu_name"?)`.
    public var description: String {
        if let position { return "at \"\(token)\" (column \(position + 1)): \(message)" }
        return "at \"\(token)\": \(message)"
    }
}
