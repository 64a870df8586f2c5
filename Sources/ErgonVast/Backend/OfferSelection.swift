import ErgonCore
import Foundation

/// How one launch (or one `ergon offers` dry run) picks an offer: the search it posts, the
/// checks it repeats locally on what comes back, and the order it tries offers in.
///
/// Every hard filter is part of the search (``searchFilter``), so that the `limit` cheapest
/// offers the API returns can all be ordered, and is checked again on the answer. The price cap
/// is not sent: a launch tells "over the cap" from "nothing matches" by the offers above it.
///
/// Precedence (DESIGN §5): hard filters first (the CLI's defaults overridden by the agent's
/// terms, the task's terms, the forced single-GPU terms, excluded machines, then the host's
/// lifetime: ``OfferLifetime``), then the price cap, then the ranking (`vast_api.ranking`:
/// ``EffectiveCost`` by default, or cheapest `dph_total` first with higher reliability
/// breaking ties, which ``rank(_:)`` gives); last, with `vast_api.prefer_warm_hosts_within`, a
/// machine that ran the task's image may move to the front (``preferWarm(_:warm:within:image:)``).
public struct OfferSelection: Sendable {
    /// The filter terms: the agent's and the task's queries, the forced terms and the excluded
    /// machines. The search sends them with the lifetime floor (``searchFilter``); each is
    /// checked again locally.
    public var filter: OfferFilter
    /// The highest `dph_total` ordered; nil: no cap.
    public var maxDPH: Double?
    /// The disk asked for, in GB: sent as `allocated_storage`, so prices include storage.
    public var diskGB: Double
    /// How many offers the search asks for.
    public var limit: Int
    /// How long a host must stay available: sent as a `duration` floor and checked again locally
    /// (``OfferLifetime/allows(_:)``, which keeps an offer without a `duration`); nil: any `duration`.
    /// Kept apart from ``filter`` so that `ergon offers --explain` counts it as one named step.
    public var lifetime: OfferLifetime?

    /// The terms Ergon adds to every search: one GPU per instance, and offers still free.
    public static let forcedTerms = "num_gpus=1 rented=false"

    public init(filter: OfferFilter, maxDPH: Double?, diskGB: Double, limit: Int = 64, lifetime: OfferLifetime? = nil) {
        self.filter = filter
        self.maxDPH = maxDPH
        self.diskGB = diskGB
        self.limit = limit
        self.lifetime = lifetime
    }

    /// The selection for the agent's filters, a task's own terms (ANDed), the machines to
    /// keep away from, and the task's lifetime rule. Throws the parser's error for a bad query.
    public static func make(
        agentFilters: String, taskFilters: String? = nil, excludedMachines: [String] = [], maxDPH: Double?,
        diskGB: Double, limit: Int = 64, lifetime: OfferLifetime? = nil
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
        return OfferSelection(filter: filter, maxDPH: maxDPH, diskGB: diskGB, limit: limit, lifetime: lifetime)
    }

    /// Every term the search sends: ``filter`` and the lifetime floor, `duration gte` seconds (on
    /// a query's own `duration` term, the stricter bound is kept: ``OfferFilter/and(_:)``).
    public var searchFilter: OfferFilter {
        lifetime.map { filter.and($0.searchFilter) } ?? filter
    }

    /// The exact body posted to `POST /api/v0/bundles/`.
    public var requestBody: JSONValue {
        searchFilter.requestBody(limit: limit, allocatedStorage: diskGB)
    }

    /// The offers worth ordering, best first: those that pass the filter again locally (the
    /// API's answer is checked, not trusted), whose host stays long enough, and under the price cap.
    public func rank(_ offers: [VastOffer]) -> [VastOffer] {
        offers.filter { offer in
            filter.matches(offer.raw) && (lifetime?.allows(offer) ?? true) && (maxDPH.map { offer.dphTotal <= $0 } ?? true)
        }
        .sortedByPrice()
    }

    /// `matching` (as ``rank(_:)`` gives them) in `ranking`'s order, with each offer's
    /// effective-cost score and its inputs (none under `price`; `inputs` is asked only for
    /// `effective_cost`). The launch and `ergon offers` both order through it, so the dry run
    /// shows the order the launch would take.
    public static func order(
        _ matching: [VastOffer], by ranking: OfferRanking, inputs: () async -> EffectiveCost.Inputs
    ) async -> RankedOffers {
        guard ranking == .effectiveCost else { return RankedOffers(offers: matching, scores: [], inputs: nil) }
        let costInputs = await inputs()
        let scored = EffectiveCost.ranked(matching, costInputs)
        return RankedOffers(offers: scored.map(\.offer), scores: scored.map(\.score), inputs: costInputs)
    }

    /// Offers in a ranking's order (``order(_:by:inputs:)``).
    public struct RankedOffers: Sendable {
        /// Best first.
        public var offers: [VastOffer]
        /// Under `effective_cost`: each offer's score, in ``offers``' order; empty under `price`.
        public var scores: [EffectiveCost.Score]
        /// Under `effective_cost`: what the scores were computed from.
        public var inputs: EffectiveCost.Inputs?

        /// The score of offer `id`, if the ranking gave one.
        public func score(of id: Int) -> EffectiveCost.Score? { scores.first { $0.offerID == id } }
    }

    /// How many of `offers` only the lifetime rule keeps out: they pass the filter and the
    /// price cap, but their hosts leave too soon. The search already asks for long-lived hosts,
    /// so this counts what an API that ignored the floor returned. For the message of a launch
    /// that found none.
    public func shortLived(_ offers: [VastOffer]) -> Int {
        guard let lifetime else { return 0 }
        var lasting = self
        lasting.lifetime = nil
        return lasting.rank(offers).count { !lifetime.allows($0) }
    }

    /// Moves the best-ranked warm offer (its machine ran `image` lately: `warm`, machine → when)
    /// to the front when its price is at most `margin` above the ranking's first choice (the
    /// cheapest, under the price ranking), keeping the rest of `ranked` in order. Nothing moves
    /// when there is no margin, when the first choice's machine is warm already, or when no
    /// warm offer is close enough.
    /// The choice says what moved, for the log and `ergon offers --explain`.
    public static func preferWarm(
        _ ranked: [VastOffer], warm: [Int: Date], within margin: Double?, image: String
    ) -> (offers: [VastOffer], choice: WarmChoice?) {
        guard let margin, let cheapest = ranked.first, warm[cheapest.machineID] == nil else { return (ranked, nil) }
        let limit = cheapest.dphTotal * (1 + margin)
        guard let index = ranked.firstIndex(where: { warm[$0.machineID] != nil && $0.dphTotal <= limit }),
            let lastRan = warm[ranked[index].machineID]
        else { return (ranked, nil) }
        var offers = ranked
        let chosen = offers.remove(at: index)
        offers.insert(chosen, at: 0)
        let choice = WarmChoice(
            offerID: chosen.id, machineID: chosen.machineID, image: image, lastRan: lastRan, dph: chosen.dphTotal,
            cheapestOfferID: cheapest.id, cheapestDPH: cheapest.dphTotal, margin: margin)
        return (offers, choice)
    }

    /// A warm machine chosen over a cheaper one, as ``preferWarm(_:warm:within:image:)`` decided.
    public struct WarmChoice: Sendable, Equatable, Encodable {
        /// The offer moved to the front.
        public var offerID: Int
        /// Its machine, which ran the image.
        public var machineID: Int
        /// The task's image.
        public var image: String
        /// When the machine last ran the image.
        public var lastRan: Date
        /// The warm offer's `dph_total`.
        public var dph: Double
        /// The ranking's first choice it replaced (the cheapest, under the price ranking).
        public var cheapestOfferID: Int
        /// Its `dph_total`.
        public var cheapestDPH: Double
        /// How far the warm offer's price is above the first choice's, in percent (negative:
        /// below, which the effective-cost ranking allows).
        public var percentAbove: Double
        /// `vast_api.prefer_warm_hosts_within`, as a fraction.
        public var margin: Double

        public init(
            offerID: Int, machineID: Int, image: String, lastRan: Date, dph: Double, cheapestOfferID: Int,
            cheapestDPH: Double, margin: Double
        ) {
            self.offerID = offerID
            self.machineID = machineID
            self.image = image
            self.lastRan = lastRan
            self.dph = dph
            self.cheapestOfferID = cheapestOfferID
            self.cheapestDPH = cheapestDPH
            self.percentAbove = cheapestDPH > 0 ? (dph - cheapestDPH) / cheapestDPH * 100 : 0
            self.margin = margin
        }

        /// `offer 123 on machine 456 ran IMAGE 2h ago; $0.212/h is 4.9% above the first choice
        /// $0.202/h (within prefer_warm_hosts_within 10%)`.
        public func summary(now: Date) -> String {
            "offer \(offerID) on machine \(machineID) ran \(image) \(Reconciler.format(max(0, now.timeIntervalSince(lastRan)))) ago; "
                + String(format: "$%.3f/h is ", dph) + relation + String(format: " $%.3f/h", cheapestDPH)
                + " (within prefer_warm_hosts_within \(Self.percent(margin)))"
        }

        /// `4.9% above the first choice`, or `2.0% below the first choice`.
        public var relation: String {
            String(format: "%.1f%% %@ the first choice", abs(percentAbove), percentAbove < 0 ? "below" : "above")
        }

        /// `0.1` as `10%`.
        public static func percent(_ fraction: Double) -> String {
            let value = (fraction * 1000).rounded() / 10
            return (value.rounded() == value ? String(Int(value)) : String(value)) + "%"
        }
    }
}

extension VastOffer {
    /// The price ranking's order: cheaper `dph_total` first, higher reliability breaking ties,
    /// then the lower id. Other rankings break their ties with it.
    public static func cheaperFirst(_ lhs: VastOffer, _ rhs: VastOffer) -> Bool {
        if lhs.dphTotal != rhs.dphTotal { return lhs.dphTotal < rhs.dphTotal }
        if lhs.reliability != rhs.reliability { return lhs.reliability > rhs.reliability }
        return lhs.id < rhs.id
    }
}

extension [VastOffer] {
    /// In the price ranking's order (``VastOffer/cheaperFirst(_:_:)``).
    public func sortedByPrice() -> [VastOffer] { sorted(by: VastOffer.cheaperFirst) }
}
