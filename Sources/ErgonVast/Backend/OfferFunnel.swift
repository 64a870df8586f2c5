import Foundation

/// Why offers were dropped, for `ergon offers --explain`: starting from every offer the
/// search returns without filter terms (the API already leaves out offers without room for
/// the disk asked for, since `allocated_storage` acts as a `disk_space` floor and prices
/// include that storage), how many each term removes (in the filter's order, each offer
/// counted once, at the first term it fails), then the host's lifetime (``OfferLifetime``),
/// then the price cap, in the order ``OfferSelection`` applies them.
public struct OfferFunnel: Sendable, Encodable {
    /// One step of the funnel.
    public struct Step: Sendable, Encodable {
        /// The term (`reliability > 0.98`), or a named rule (`dph_total <= 0.5 (vast_api.max_dph)`).
        public var term: String
        /// Offers this step removed.
        public var removed: Int
        /// Offers left after it.
        public var left: Int
    }

    /// Offers before any filter term (all with room for the disk).
    public var total: Int
    public var steps: [Step]
    /// Offers left at the end.
    public var matching: Int

    /// The funnel of `selection` over unfiltered `offers`.
    public init(selection: OfferSelection, offers: [VastOffer]) {
        let terms = selection.filter.terms
        var removedByTerm = [Int](repeating: 0, count: terms.count)
        var removedByLifetime = 0
        var removedByPrice = 0
        var left = 0
        for offer in offers {
            if case .object(let members) = offer.raw, let index = selection.filter.compiled.firstFailingIndex(members) {
                removedByTerm[index] += 1
            } else if let lifetime = selection.lifetime, !lifetime.allows(offer) {
                removedByLifetime += 1
            } else if let cap = selection.maxDPH, offer.dphTotal > cap {
                removedByPrice += 1
            } else {
                left += 1
            }
        }
        var remaining = offers.count
        var steps: [Step] = []
        for (term, removed) in zip(terms, removedByTerm) {
            remaining -= removed
            steps.append(Step(term: term.description, removed: removed, left: remaining))
        }
        if let lifetime = selection.lifetime {
            remaining -= removedByLifetime
            steps.append(Step(term: lifetime.summary, removed: removedByLifetime, left: remaining))
        }
        if let cap = selection.maxDPH {
            remaining -= removedByPrice
            steps.append(Step(term: "dph_total <= \(Self.number(cap)) (vast_api.max_dph)", removed: removedByPrice, left: remaining))
        }
        self.total = offers.count
        self.steps = steps
        self.matching = left
    }

    public static func number(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }
}
