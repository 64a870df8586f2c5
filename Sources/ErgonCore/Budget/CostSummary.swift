import Foundation

/// What a task's or a workflow's attempts cost: price × billed time of each priced attempt,
/// storage included (Vast's `dph_total` covers the disk asked for).
public struct CostSummary: Equatable, Sendable {
    /// Dollars, by `now` for attempts still billed.
    public var dollars: Double
    /// Attempts whose instance is still billed.
    public var billing: Int
    /// Attempts that had an instance and no known price (docker, or a price never recorded).
    public var unpriced: Int

    public init(_ attempts: [AttemptRecord], at now: Date) {
        dollars = attempts.reduce(0) { $0 + ($1.cost(at: now) ?? 0) }
        billing = attempts.filter { $0.pricePerHour != nil && $0.endedAt == nil }.count
        unpriced = attempts.filter { $0.pricePerHour == nil && $0.instanceID != nil }.count
        priced = attempts.filter { $0.pricePerHour != nil }.count
    }

    /// True when some attempt had a price (rented instances); docker attempts have none.
    public var isPriced: Bool { priced > 0 }
    /// Attempts with a price.
    public var priced: Int

    /// `$1.234`, `$1.234 so far (1 instance(s) still billed)`, `unknown: …`.
    public var text: String {
        if dollars == 0, billing == 0 {
            return unpriced > 0 ? "unknown: no price recorded for its instance(s)" : "$0"
        }
        var text = BudgetCheck.money(dollars)
        if billing > 0 { text += " so far (\(billing) instance(s) still billed)" }
        if unpriced > 0 { text += " + \(unpriced) instance(s) without a recorded price" }
        return text
    }
}
