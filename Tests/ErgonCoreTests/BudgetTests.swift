import Foundation
import Testing

@testable import ErgonCore

/// The money caps: `budget` in the config, the pure decisions, the ledger the backend asks
/// before each order, and what attempts cost.
@Suite("Budget")
struct BudgetTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func parse(_ text: String) throws(ConfigError) -> ErgonConfig {
        try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: [:], hostName: "box")
    }

    @Test func configDefaultsAndEveryKey() throws {
        let defaults = try Self.parse("")
        #expect(defaults.budget == BudgetPolicy())
        #expect(defaults.budget.isUnlimited && defaults.budget.period == 30 * 86_400 && defaults.budget.orderHours == 1)
        let config = try Self.parse("budget: {max_hourly_spend: 2.5, max_total_spend: \"$300\", period: 7d, assumed_runtime: 90m}")
        #expect(config.budget == BudgetPolicy(maxHourlySpend: 2.5, maxTotalSpend: 300, period: 7 * 86_400, orderHours: 1.5))
        #expect(try Self.parse("budget: {max_total_spend: 0}").budget.maxTotalSpend == 0)
        #expect(try Self.parse("budget:").budget == BudgetPolicy())
    }

    static let configErrors: [(String, String)] = [
        ("budget: {max_hourly_spend: lots}",
         "ergon.yaml: budget.max_hourly_spend: invalid amount \"lots\" (expected dollars such as 25 or $25.50)"),
        ("budget: {max_hourly_spend: 0}",
         "ergon.yaml: budget.max_hourly_spend: must be more than $0, got \"0\" (leave it out for no cap)"),
        ("budget: {max_total_spend: -5}",
         "ergon.yaml: budget.max_total_spend: invalid amount \"-5\" (expected dollars such as 25 or $25.50)"),
        ("budget: {period: forever}",
         "ergon.yaml: budget.period: invalid duration \"forever\" (expected \(DurationParser.acceptedForms))"),
        ("budget: {max_hourly_spnd: 3}", "ergon.yaml: budget.max_hourly_spnd: unknown key (did you mean \"max_hourly_spend\"?)"),
    ]

    @Test(arguments: configErrors)
    func configErrorsNameTheKey(text: String, message: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    // MARK: the decisions

    struct Row: Sendable, CustomTestStringConvertible {
        var policy: BudgetPolicy
        var spend: Spend
        var price: Double
        var hours: Double
        /// nil: admitted; else a text the refusal contains.
        var refused: String?
        var testDescription: String { "\(spend.perHour) $/h live, \(spend.total) $ spent, order at \(price) $/h for \(hours) h" }
    }

    static let rows: [Row] = [
        Row(policy: BudgetPolicy(), spend: Spend(perHour: 99, total: 9999), price: 5, hours: 24, refused: nil),
        Row(policy: BudgetPolicy(maxHourlySpend: 2), spend: Spend(perHour: 1.5, total: 0), price: 0.5, hours: 1, refused: nil),
        Row(policy: BudgetPolicy(maxHourlySpend: 2), spend: Spend(perHour: 1.5, total: 0), price: 0.51, hours: 1,
            refused: "budget.max_hourly_spend $2.00/h: the live instances cost $1.50/h and the cheapest matching offer $0.510/h"),
        Row(policy: BudgetPolicy(maxTotalSpend: 10), spend: Spend(perHour: 0, total: 9), price: 0.5, hours: 2, refused: nil),
        Row(policy: BudgetPolicy(maxTotalSpend: 10), spend: Spend(perHour: 0, total: 9), price: 0.5, hours: 2.5,
            refused: "budget.max_total_spend $10.00: $9.00 spent over the last 30d, and the cheapest matching offer would add $1.25"),
        Row(policy: BudgetPolicy(maxHourlySpend: 5, maxTotalSpend: 10), spend: Spend(perHour: 4, total: 1), price: 2, hours: 1,
            refused: "budget.max_hourly_spend"),
    ]

    @Test(arguments: rows)
    func refusal(row: Row) {
        let refusal = BudgetCheck.refusal(pricePerHour: row.price, hours: row.hours, policy: row.policy, spend: row.spend)
        if let expected = row.refused {
            #expect(refusal?.contains(expected) == true, "\(refusal ?? "admitted")")
        } else {
            #expect(refusal == nil)
        }
    }

    @Test func holdWhenACapIsReached() {
        let hourly = BudgetPolicy(maxHourlySpend: 2)
        #expect(BudgetCheck.hold(hourly, spend: Spend(perHour: 1.99, total: 0)) == nil)
        #expect(BudgetCheck.hold(hourly, spend: Spend(perHour: 2, total: 0))?.contains("budget.max_hourly_spend $2.00/h reached") == true)
        // Refused at 0.5 $/h: with 1.6 $/h live, nothing can be ordered until the spend falls.
        #expect(BudgetCheck.hold(hourly, spend: Spend(perHour: 1.6, total: 0), cheapestRefused: 0.5) != nil)
        #expect(BudgetCheck.hold(hourly, spend: Spend(perHour: 1.4, total: 0), cheapestRefused: 0.5) == nil)
        let total = BudgetPolicy(maxTotalSpend: 100, period: 86_400)
        #expect(BudgetCheck.hold(total, spend: Spend(perHour: 0, total: 99.9)) == nil)
        #expect(BudgetCheck.hold(total, spend: Spend(perHour: 0, total: 100)) == "budget.max_total_spend $100.00 reached: $100.00 spent over the last 1d")
        #expect(BudgetCheck.hold(BudgetPolicy(maxTotalSpend: 0), spend: Spend(perHour: 0, total: 0)) != nil)
    }

    // MARK: costs

    @Test func attemptCostsAndTheWindow() {
        var attempt = AttemptRecord(taskID: UUID(), number: 1, agentID: "a", claimedAt: Self.t0)
        #expect(attempt.cost(at: Self.t0 + 3600) == nil)
        attempt.pricePerHour = 0.6
        attempt.billedFrom = Self.t0 + 600
        #expect(abs(attempt.cost(at: Self.t0 + 4200)! - 0.6) < 1e-9)
        attempt.endedAt = Self.t0 + 2400
        #expect(abs(attempt.cost(at: Self.t0 + 99_999)! - 0.3) < 1e-9)
        // Only the part inside the window counts toward the period's spend.
        #expect(abs(attempt.cost(from: Self.t0 + 1800, to: Self.t0 + 99_999) - 0.1) < 1e-9)
        #expect(attempt.cost(from: Self.t0 + 2400, to: Self.t0 + 99_999) == 0)

        let unpriced = AttemptRecord(taskID: UUID(), number: 2, agentID: "a", instanceID: "c1", claimedAt: Self.t0)
        let summary = CostSummary([attempt, unpriced], at: Self.t0 + 99_999)
        #expect(abs(summary.dollars - 0.3) < 1e-9 && summary.billing == 0 && summary.unpriced == 1)
        #expect(summary.text == "$0.300 + 1 instance(s) without a recorded price")
        var live = attempt
        live.endedAt = nil
        #expect(CostSummary([live], at: Self.t0 + 4200).text == "$0.600 so far (1 instance(s) still billed)")
        #expect(CostSummary([], at: Self.t0).text == "$0")
    }

    // MARK: the ledger

    static func instance(_ id: String, _ label: InstanceLabel?, price: Double?) -> BackendInstance {
        BackendInstance(id: id, label: label, status: .running, stateText: "running", pricePerHour: price)
    }

    @Test func theLedgerAdmitsOrdersOneAtATimeAndCountsThemUntilListed() async {
        let clock = ManualTime(Self.t0)
        let ledger = SpendLedger(policy: BudgetPolicy(maxHourlySpend: 1), now: { clock.now })
        let a = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        let b = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        let c = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        await ledger.renew(listing: [], billed: [])
        #expect(await ledger.admit(pricePerHour: 0.4, hours: 1, label: a) == nil)
        #expect(await ledger.price(of: a) == 0.4)
        #expect(await ledger.admit(pricePerHour: 0.4, hours: 1, label: b) == nil)
        // 0.8 $/h reserved: a third order at 0.4 would pass the cap, and nothing is reserved for it.
        #expect(await ledger.admit(pricePerHour: 0.4, hours: 1, label: c) != nil)
        #expect(await ledger.current.perHour == 0.8)
        #expect(await ledger.hold() != nil, "0.8 live + 0.4 refused > 1")
        // b's offer was taken: its reservation ends.
        await ledger.withdraw(label: b)
        #expect(await ledger.current.perHour == 0.4)
        // a is listed: counted by the listing, not twice.
        await ledger.renew(listing: [Self.instance("1", a, price: 0.4), Self.instance("x", nil, price: 0.1)], billed: [])
        #expect(await ledger.current.perHour == 0.5)
        // The launch takes the price it ordered at, once.
        #expect(await ledger.price(of: a) == 0.4)
        #expect(await ledger.takePrice(of: a) == 0.4)
        #expect(await ledger.price(of: a) == nil)
        // The spend fell (a destroyed): what was refused may be tried again.
        await ledger.renew(listing: [], billed: [])
        #expect(await ledger.hold() == nil)
        #expect(await ledger.admit(pricePerHour: 0.4, hours: 1, label: c) == nil)
        // A reservation whose instance never shows lapses.
        clock.now = Self.t0 + 601
        await ledger.renew(listing: [], billed: [])
        #expect(await ledger.current.perHour == 0)
    }

    @Test func aListedOrderCountsTheRestOfItsHoursUntilItsInstanceIsGone() async {
        let clock = ManualTime(Self.t0)
        let ledger = SpendLedger(policy: BudgetPolicy(maxTotalSpend: 10), now: { clock.now })
        let a = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        let b = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        #expect(await ledger.admit(pricePerHour: 1, hours: 8, label: a) == nil)
        await ledger.renew(listing: [Self.instance("1", a, price: 1)], billed: [])
        #expect(await ledger.current.total == 8, "listed, it still counts for the hours it was admitted for")
        #expect(await ledger.admit(pricePerHour: 1, hours: 8, label: b) != nil)
        clock.now = Self.t0 + 4 * 3600
        // The queue now says it billed 4 h; 4 h of its 8 remain.
        var billed = AttemptRecord(taskID: a.taskID, number: 1, agentID: "a", claimedAt: Self.t0)
        billed.pricePerHour = 1
        await ledger.renew(listing: [Self.instance("1", a, price: 1)], billed: [billed])
        #expect(abs(await ledger.current.total - 8) < 1e-9)
        // Gone: only what it billed counts.
        billed.endedAt = clock.now
        await ledger.renew(listing: [], billed: [billed])
        #expect(abs(await ledger.current.total - 4) < 1e-9)
    }

    @Test func aRefusalOverTheCapItselfNeverHoldsOrdersBack() async {
        let clock = ManualTime(Self.t0)
        let ledger = SpendLedger(policy: BudgetPolicy(maxHourlySpend: 1), now: { clock.now })
        let label = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        // An A100 at 1.2 $/h can never fit: cheaper tasks still run.
        #expect(await ledger.admit(pricePerHour: 1.2, hours: 1, label: label) != nil)
        #expect(await ledger.hold() == nil)
        // 0.7 live and a refusal at 0.5: held, for 5 minutes at most.
        await ledger.renew(listing: [Self.instance("1", nil, price: 0.7)], billed: [])
        #expect(await ledger.admit(pricePerHour: 0.5, hours: 1, label: label) != nil)
        #expect(await ledger.hold() != nil)
        clock.now = Self.t0 + 301
        #expect(await ledger.hold() == nil)
    }

    @Test func theLedgerCountsThePeriodsSpend() async {
        let clock = ManualTime(Self.t0 + 86_400)
        let ledger = SpendLedger(policy: BudgetPolicy(maxTotalSpend: 5, period: 86_400), now: { clock.now })
        var old = AttemptRecord(taskID: UUID(), number: 1, agentID: "a", claimedAt: Self.t0 - 7200, endedAt: Self.t0 + 3600)
        old.pricePerHour = 2  // 1 h of it inside the window: $2
        var live = AttemptRecord(taskID: UUID(), number: 1, agentID: "b", claimedAt: Self.t0 + 86_400 - 3600)
        live.pricePerHour = 2.5  // 1 h so far: $2.5
        await ledger.renew(listing: [], billed: [old, live])
        #expect(abs(await ledger.current.total - 4.5) < 1e-9)
        let label = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        #expect(await ledger.admit(pricePerHour: 0.4, hours: 1, label: label) == nil)
        // 4.5 spent + 0.4 reserved for an hour: 0.6 more would pass $5, 0.1 fits.
        let other = InstanceLabel(agentID: "a", taskID: UUID(), attempt: 1)
        #expect(await ledger.admit(pricePerHour: 0.6, hours: 1, label: other)?.contains("budget.max_total_spend $5.00") == true)
        #expect(await ledger.admit(pricePerHour: 0.1, hours: 1, label: other) == nil)
        #expect(abs(await ledger.current.total - 5.0) < 1e-9)
    }
}

/// A clock a test moves by hand.
final class ManualTime: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ start: Date) { value = start }
    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
