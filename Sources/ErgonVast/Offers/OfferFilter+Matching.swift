extension OfferFilter {
    /// Whether an offer (a JSON object as the API returns it) passes every term.
    /// See `CompiledOfferFilter` for how values compare.
    public func matches(_ offer: JSONValue) -> Bool {
        compiled.matches(offer)
    }

    /// The first term (in `terms` order) the offer fails, nil when it passes: what an "explain"
    /// funnel counts to show which term removes how many offers.
    public func firstFailingTerm(_ offer: JSONValue) -> OfferTerm? {
        compiled.firstFailingTerm(offer)
    }
}
