/// A search for Vast offers written in the `vastai search offers` query language,
/// e.g. `gpu_name=RTX_4090 reliability>0.98 num_gpus=1`, parsed to the filter the API takes.
public struct OfferQuery: Sendable, Equatable {
    /// Where a field's last term sits in the query text, for errors raised after parsing.
    struct Location: Sendable, Hashable {
        var token: String
        var position: Int
    }

    /// The parsed result: what goes into the body of `POST /api/v0/bundles/`.
    public var filter: OfferFilter

    /// The term each field came from, by field; fields from the defaults have none.
    var locations: [String: Location] = [:]

    /// A query with the given filter (no source text).
    public init(filter: OfferFilter) {
        self.filter = filter
    }

    /// No filter at all: what the CLI sends with `--no-default`.
    public static let empty = OfferQuery(filter: OfferFilter())

    /// The filter the CLI starts every search from: `verified=true external=false rentable=true`,
    /// seeded as real booleans (not parsed text), so these are JSON `true`/`false`.
    public static let cliDefaults = OfferQuery(filter: [
        "verified": [.eq: true],
        "external": [.eq: false],
        "rentable": [.eq: true],
    ])

    /// Parses `text` on top of `defaults`, exactly as `vastai search offers` does: a term replaces
    /// the default (or an earlier term) with the same field and operator and adds to the others;
    /// `field=any` (or `*`, `?`) drops the field, defaults included. Unlike the CLI, which only
    /// warns, an unknown field is an error.
    public static func parse(_ text: String, defaults: OfferQuery = .cliDefaults) throws(OfferQueryError) -> OfferQuery {
        try parse(text, defaults: defaults, acceptingUnknownFields: false)
    }

    /// `parse`, optionally taking unknown fields as the CLI does (it only warns), so that tests
    /// can compare every query with the CLI's output.
    static func parse(_ text: String, defaults: OfferQuery, acceptingUnknownFields: Bool) throws(OfferQueryError) -> OfferQuery {
        var parser = OfferQueryParser(text: text, fields: defaults.filter.fields, acceptingUnknownFields: acceptingUnknownFields)
        try parser.run()
        var query = OfferQuery(filter: OfferFilter(fields: parser.fields))
        query.locations = defaults.locations.filter { parser.fields[$0.key] != nil }
        query.locations.merge(parser.locations) { _, new in new }
        return query
    }

    /// Two queries are equal when their filters are; where the terms were written does not matter.
    public static func == (lhs: OfferQuery, rhs: OfferQuery) -> Bool {
        lhs.filter == rhs.filter
    }

    /// Checks the rules Ergon adds on top of the language, throwing for the first one broken.
    ///
    /// - `num_gpus` may only be `num_gpus=1` (or absent): Ergon rents single-GPU instances.
    public func validateForErgon() throws(OfferQueryError) {
        for rule in ErgonRule.allCases {
            switch rule {
            case .singleGPU: try requireSingleGPU()
            }
        }
    }

    /// Ergon's rules beyond the language; a new rule is a case here and a function below.
    private enum ErgonRule: CaseIterable {
        case singleGPU
    }

    private func requireSingleGPU() throws(OfferQueryError) {
        guard let ops = filter.fields["num_gpus"] else { return }
        let isSingle = ops.count == 1 && ops[.eq].map { OfferScalar.target($0, field: "num_gpus") == .number(1) } == true
        guard !isSingle else { return }
        let location = locations["num_gpus"]
        let written = ops.keys.sorted { $0.rank < $1.rank }.map { "\($0.rawValue) \(ops[$0]!.jsonText)" }
        throw OfferQueryError(
            code: .refusedByErgon, token: location?.token ?? "num_gpus", position: location?.position,
            message: "num_gpus must be 1: Ergon rents single-GPU instances (got \(written.joined(separator: ", ")); "
                + "write num_gpus=1 or leave it out)")
    }
}
