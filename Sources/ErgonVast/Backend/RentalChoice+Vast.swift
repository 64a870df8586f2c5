import ErgonCore
import Foundation

extension RentalChoice {
    /// Why a launch passed over an offer it tried before the one it ordered.
    public enum PassedOver: Sendable, Equatable {
        /// The offer was taken before the order (`no_such_ask`).
        case taken
        /// The order would have passed a money cap (`budget.*`).
        case overBudget
    }

    /// The choice of `ordered` among `ranked` (the matching offers in the ranking's order, before
    /// any warm host moved), after passing over `passedOver` in turn; `warm` is the warm host
    /// moved first, if one was, and `now` dates its last run. `ranking` names the order of
    /// `ranked`; `score` is what it gave `ordered` (nil: its price, as the price ranking's).
    public static func vast(
        ordered: VastOffer, ranked: [VastOffer], passedOver: [(offer: VastOffer, why: PassedOver)],
        warm: OfferSelection.WarmChoice?, now: Date, ranking: String, score: Double? = nil
    ) -> RentalChoice {
        let rankOf = Dictionary(ranked.enumerated().map { ($0.element.id, $0.offset + 1) }) { first, _ in first }
        let rank = rankOf[ordered.id] ?? ranked.count + 1
        var reasons: [String] = []
        if let warm, warm.offerID == ordered.id {
            let ago = Reconciler.format(max(0, now.timeIntervalSince(warm.lastRan)))
            reasons.append(
                "warm host: its machine ran \(warm.image) \(ago) ago; "
                    + warm.relation
                    + ", within prefer_warm_hosts_within \(OfferSelection.WarmChoice.percent(warm.margin))")
        }
        for (why, words) in [(PassedOver.taken, "taken"), (.overBudget, "refused by the budget")] {
            let ranks = passedOver.filter { $0.why == why }.compactMap { rankOf[$0.offer.id] }.sorted()
            guard !ranks.isEmpty else { continue }
            reasons.append(ranks.count == 1 ? "offer \(ranks[0]) was \(words)" : "offers \(spans(ranks)) were \(words)")
        }
        return RentalChoice(
            offerID: String(ordered.id), machineID: String(ordered.machineID), gpuName: ordered.gpuName, rank: rank,
            matched: ranked.count, ranking: ranking, score: score ?? ordered.dphTotal,
            reason: rank > 1 && !reasons.isEmpty ? reasons.joined(separator: "; ") : nil)
    }

    /// Sorted ranks as runs: `[1, 2, 3, 5]` is `1-3, 5`.
    static func spans(_ ranks: [Int]) -> String {
        var runs: [(Int, Int)] = []
        for rank in ranks {
            if let last = runs.last, rank == last.1 + 1 { runs[runs.count - 1].1 = rank } else { runs.append((rank, rank)) }
        }
        return runs.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }.joined(separator: ", ")
    }
}
