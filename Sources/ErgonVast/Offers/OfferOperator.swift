/// A comparison in an offer filter, named as the Vast API names it in the JSON body.
public enum OfferOperator: String, Sendable, Hashable, CaseIterable, Codable {
    /// Equal to the value.
    case eq
    /// Not equal to the value.
    case neq
    /// Greater than the value.
    case gt
    /// Greater than or equal to the value.
    case gte
    /// Less than the value.
    case lt
    /// Less than or equal to the value.
    case lte
    /// Equal to one of the values in a list.
    case `in`
    /// Equal to none of the values in a list.
    case notin

    /// The operator a query spells as `spelling` (symbol or word, already trimmed); nil when unknown.
    ///
    /// The table is the CLI's: `=`, `==` and `eq` are the same, `noteq`/`not eq` mean `neq`,
    /// `nin`/`not in` mean `notin`. Runs like `=>` or `=<` are not operators.
    public init?(spelling: String) {
        guard let op = Self.spellings[spelling] else { return nil }
        self = op
    }

    /// Whether the operator takes a list value (`in`, `notin`).
    public var takesList: Bool { self == .in || self == .notin }

    /// The position in the fixed order terms are listed and evaluated in.
    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    private static let spellings: [String: OfferOperator] = [
        ">=": .gte, ">": .gt, "gt": .gt, "gte": .gte,
        "<=": .lte, "<": .lt, "lt": .lt, "lte": .lte,
        "!=": .neq, "==": .eq, "=": .eq, "eq": .eq,
        "neq": .neq, "noteq": .neq, "not eq": .neq,
        "notin": .notin, "not in": .notin, "nin": .notin, "in": .in,
    ]
}
