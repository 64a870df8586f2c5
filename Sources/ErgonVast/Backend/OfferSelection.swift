import ErgonCore
import Foundation

/// How one launch (or one `ergon offers` dry run) picks an offer: the search it posts, the
/// checks it repeats locally on what comes back, and the order it tries offers in.
///
/// Precedence (DESIGN §5): hard filters first (the CLI's defaults overridden by the agent's
/// terms, the task's terms, the forced single-GPU terms, excluded machines), then the price
/// cap, then the ranking: cheapest `dph_total` first, higher reliability breaking ties.
public struct OfferSelection: Sendable {
    /// Every filter term sent to the search.
    public var filter: OfferFilter
    /// The highest `dph_total` ordered; nil: no cap.
    public var maxDPH: Double?
    /// The disk asked for, in GB: sent as `allocated_storage`, so prices include storage.
    public var diskGB: Double
    /// How many offers the search asks for.
    public var limit: Int

    /// The terms Ergon adds to every search: one GPU per instance, and offers still free.
    public static let forcedTerms = "num_gpus=1 rented=false"

    public init(filter: OfferFilter, maxDPH: Double?, diskGB: Double, limit: Int = 64) {
        self.filter = filter
        self.maxDPH = maxDPH
        self.diskGB = diskGB
        self.limit = limit
    }

    /// The selection for the agent's filters, a task's own terms (ANDed), and the machines
    /// to keep away from. Throws the parser's error for a bad query.
    public static func make(
        agentFilters: String, taskFilters: String? = nil, excludedMachines: [String] = [], maxDPH: Double?,
        diskGB: Double, limit: Int = 64
    ) throws(OfferQueryError) -> OfferSelection {
        let agent = try OfferQuery.parse(agentFilters)
        try agent.validateForErgon()
        var filter = agent.filter
        if let taskFilters, !taskFilters.trimmingCharacters(in: .whitespaces).isEmpty {
            // The task's terms narrow the agent's; the CLI's defaults are already in the agent's.
            let task = try OfferQuery.parse(taskFilters, defaults: .empty)
            try task.validateForErgon()
            filter = filter.and(task.filter)
        }
        filter = filter.and(try OfferQuery.parse(forcedTerms, defaults: .empty).filter)
        if !excludedMachines.isEmpty {
            let ids: [JSONValue] = excludedMachines.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) }
                .map { Int($0).map { .number(Double($0)) } ?? .string($0) }
            filter = filter.and(try OfferFilter(json: ["machine_id": ["notin": .array(ids)]]))
        }
        return OfferSelection(filter: filter, maxDPH: maxDPH, diskGB: diskGB, limit: limit)
    }

    /// The exact body posted to `POST /api/v0/bundles/`.
    public var requestBody: JSONValue {
        filter.requestBody(limit: limit, allocatedStorage: diskGB)
    }

    /// The offers worth ordering, best first: those that pass the filter again locally (the
    /// API's answer is checked, not trusted) and the price cap.
    public func rank(_ offers: [VastOffer]) -> [VastOffer] {
        offers.filter { offer in
            filter.matches(offer.raw) && (maxDPH.map { offer.dphTotal <= $0 } ?? true)
        }
        .sorted { lhs, rhs in
            if lhs.dphTotal != rhs.dphTotal { return lhs.dphTotal < rhs.dphTotal }
            if lhs.reliability != rhs.reliability { return lhs.reliability > rhs.reliability }
            return lhs.id < rhs.id
        }
    }
}
