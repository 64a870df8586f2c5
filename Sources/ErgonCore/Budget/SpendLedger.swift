import Foundation

/// What a backend asks before it places an order that costs money (`LaunchRequest.budget`).
public protocol OrderBudget: Sendable {
    /// Reserves `pricePerHour` for the order of `label`, expected to run `hours`; returns why
    /// the order must not be placed instead, leaving nothing reserved.
    func admit(pricePerHour: Double, hours: Double, label: InstanceLabel) async -> String?
    /// Ends the reservation of an order that was not placed (its offer was taken).
    func withdraw(label: InstanceLabel) async
}

/// The agent's running account of what its queue's instances cost, renewed each tick from the
/// listing and the queue's priced attempts, plus the orders this agent placed. An order counts
/// toward the hourly spend until the listing shows its instance, and toward the period's total
/// for the hours it was admitted for until its instance is gone (what it billed so far comes
/// from the queue, the rest of those hours from here). Orders are admitted one at a time, so
/// launches of this agent running together cannot pass a cap between them.
public actor SpendLedger: OrderBudget {
    public let policy: BudgetPolicy
    /// How long an order's reservation stands without its instance being listed.
    public let reservationLifetime: TimeInterval
    /// How long a refusal holds every order back while the live spend does not fall.
    public let refusalMemory: TimeInterval
    private let now: @Sendable () -> Date
    private var listed = Spend(perHour: 0, total: 0)
    private struct Order {
        var pricePerHour: Double
        var hours: Double
        var at: Date
        /// True once the listing showed its instance.
        var listed: Bool
    }
    private var orders: [InstanceLabel: Order] = [:]
    /// The price of each order placed, until the launch takes it to record on its attempt.
    private var placed: [InstanceLabel: Double] = [:]
    private var cheapestRefused: (price: Double, at: Date)?

    public init(
        policy: BudgetPolicy, reservationLifetime: TimeInterval = 600, refusalMemory: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.policy = policy
        self.reservationLifetime = reservationLifetime
        self.refusalMemory = refusalMemory
        self.now = now
    }

    /// Renews the account from a tick's listing (the instances of every agent sharing the queue)
    /// and the priced attempts of the period. A fall in spend lets refused orders be tried again.
    public func renew(listing: [BackendInstance], billed: [AttemptRecord]) {
        let time = now()
        let livePerHour = listing.reduce(0) { $0 + ($1.pricePerHour ?? 0) }
        let renewed = BudgetCheck.spend(of: billed, livePerHour: livePerHour, policy: policy, at: time)
        if renewed.perHour < listed.perHour { cheapestRefused = nil }
        listed = renewed
        let labels = Set(listing.compactMap(\.label))
        for (label, order) in orders {
            if labels.contains(label) {
                orders[label]?.listed = true
            } else if order.listed || time.timeIntervalSince(order.at) >= reservationLifetime {
                // Listed before and gone now: the instance ended. Never listed: the order lapsed.
                orders[label] = nil
            }
        }
    }

    /// The spend now: the last renewal plus this agent's orders (their price per hour until
    /// listed, and the rest of the hours each was admitted for).
    public var current: Spend {
        let time = now()
        let perHour = orders.values.filter { !$0.listed }.reduce(0) { $0 + $1.pricePerHour }
        let remaining = orders.values.reduce(0) { total, order in
            total + order.pricePerHour * max(0, order.hours - time.timeIntervalSince(order.at) / 3600)
        }
        return Spend(perHour: listed.perHour + perHour, total: listed.total + remaining)
    }

    /// Why no order can be placed now, or nil (``BudgetCheck/hold(_:spend:cheapestRefused:)``). A
    /// refusal holds orders back only while it could fit once the spend falls, and for
    /// `refusalMemory` at most (the market moves).
    public func hold() -> String? {
        if let refused = cheapestRefused, now().timeIntervalSince(refused.at) >= refusalMemory { cheapestRefused = nil }
        let refused = cheapestRefused.map(\.price).flatMap { price in
            policy.maxHourlySpend.flatMap { price <= $0 ? price : nil }
        }
        return BudgetCheck.hold(policy, spend: current, cheapestRefused: refused)
    }

    public func admit(pricePerHour: Double, hours: Double, label: InstanceLabel) -> String? {
        if let reason = BudgetCheck.refusal(pricePerHour: pricePerHour, hours: hours, policy: policy, spend: current) {
            if cheapestRefused.map({ pricePerHour < $0.price }) ?? true { cheapestRefused = (pricePerHour, now()) }
            return reason
        }
        orders[label] = Order(pricePerHour: pricePerHour, hours: hours, at: now(), listed: false)
        placed[label] = pricePerHour
        return nil
    }

    public func withdraw(label: InstanceLabel) {
        orders[label] = nil
        placed[label] = nil
    }

    /// The price the order for `label` was admitted at, while the launch has not taken it.
    public func price(of label: InstanceLabel) -> Double? {
        placed[label]
    }

    /// Takes the price of the order for `label` once its attempt recorded it.
    public func takePrice(of label: InstanceLabel) -> Double? {
        placed.removeValue(forKey: label)
    }
}
