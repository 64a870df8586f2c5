import Foundation

/// Which offer an attempt's instance was rented on and why that one, as the backend that rents
/// (vast) decided it; kept with the attempt so `ergon tasks show` can explain it afterwards.
/// Backends that rent nothing (docker) record none.
public struct RentalChoice: Codable, Equatable, Sendable {
    /// The offer ordered (Vast's ask id).
    public var offerID: String
    /// The machine behind the offer.
    public var machineID: String
    /// The GPU model offered (`RTX_4090`).
    public var gpuName: String
    /// The offer's place in the ranking among the offers that matched: 1 is the ranking's first
    /// choice; more when the offers before it were taken or refused, or a warm host moved first.
    public var rank: Int
    /// How many offers matched the filters (of those the search returned).
    public var matched: Int
    /// The ranking that ordered the offers: ``price`` or ``effectiveCost``.
    public var ranking: String
    /// What the ranking gave the offer, lower first (``price``: its `dph_total` in dollars per
    /// hour; ``effectiveCost``: the expected dollars of the task's work on it).
    public var score: Double
    /// Why this offer was ordered rather than the ranking's first choice; nil at rank 1.
    public var reason: String?

    /// The ranking by `dph_total`, cheapest first.
    public static let price = OfferRanking.price.rawValue

    /// Spelled like the rest of the API's JSON (`instanceId`), stored the same way.
    enum CodingKeys: String, CodingKey {
        case offerID = "offerId", machineID = "machineId", gpuName, rank, matched, ranking, score, reason
    }

    public init(
        offerID: String, machineID: String, gpuName: String, rank: Int, matched: Int, ranking: String, score: Double,
        reason: String? = nil
    ) {
        self.offerID = offerID
        self.machineID = machineID
        self.gpuName = gpuName
        self.rank = rank
        self.matched = matched
        self.ranking = ranking
        self.score = score
        self.reason = reason
    }

    /// `rank 2 of 14 by price (score 0.412)`, with the reason when there is one.
    public var summary: String {
        let score = String(format: "%.3f", self.score)
        return "rank \(rank) of \(matched) by \(ranking) (score \(score))" + (reason.map { ": \($0)" } ?? "")
    }
}

/// How a launch orders the offers that pass every filter (`vast_api.ranking`); its raw value is
/// the name config files, `ergon offers --ranking` and ``RentalChoice/ranking`` use.
public enum OfferRanking: String, Sendable, Equatable, CaseIterable {
    /// Least expected money for the task's work first (`EffectiveCost` in ErgonVast).
    case effectiveCost = "effective_cost"
    /// Cheapest `dph_total` first, higher reliability breaking ties.
    case price

    /// `effective_cost or price`, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: " or ") }
}
