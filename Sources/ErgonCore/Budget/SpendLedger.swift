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
/// listing and the queue's priced attempts, plus the orders placed since that the listing does
/// not show yet. Orders are admitted one at a time, so launches running together cannot pass a
/// cap between them.
public actor SpendLedger: OrderBudget {
    public let policy: BudgetPolicy
    /// How long an order's reservation stands without its instance being listed.
    public let reservationLifetime: TimeInterval
    private let now: @Sendable () -> Date
    private var listed = Spend(perHour: 0, total: 0)
    private var reservations: [InstanceLabel: (pricePerHour: Double, hours: Double, at: Date)] = [:]
    private var cheapestRefused: Double?

    public init(policy: BudgetPolicy, reservationLifetime: TimeInterval = 600, now: @escaping @Sendable () -> Date = { Date() }) {
        self.policy = policy
        self.reservationLifetime = reservationLifetime
        self.now = now
    }

    /// Renews the account from a tick's listing (the instances of every agent sharing the queue)
    /// and the priced attempts of the period. An order whose instance is listed is counted by
    /// the listing from now on; a fall in spend lets refused orders be tried again.
    public func renew(listing: [BackendInstance], billed: [AttemptRecord]) {
        let time = now()
        let livePerHour = listing.reduce(0) { $0 + ($1.pricePerHour ?? 0) }
        let renewed = BudgetCheck.spend(of: billed, livePerHour: livePerHour, policy: policy, at: time)
        if renewed.perHour < listed.perHour { cheapestRefused = nil }
        listed = renewed
        let labels = Set(listing.compactMap(\.label))
        reservations = reservations.filter { label, order in
            !labels.contains(label) && time.timeIntervalSince(order.at) < reservationLifetime
        }
    }

    /// The spend now: the last renewal plus the orders placed since, each counted toward the
    /// period's total for the hours it was admitted for.
    public var current: Spend {
        let ordered = reservations.values
        return Spend(
            perHour: listed.perHour + ordered.reduce(0) { $0 + $1.pricePerHour },
            total: listed.total + ordered.reduce(0) { $0 + $1.pricePerHour * $1.hours })
    }

    /// Why no order can be placed now, or nil (``BudgetCheck/hold(_:spend:cheapestRefused:)``).
    public func hold() -> String? {
        BudgetCheck.hold(policy, spend: current, cheapestRefused: cheapestRefused)
    }

    public func admit(pricePerHour: Double, hours: Double, label: InstanceLabel) -> String? {
        if let reason = BudgetCheck.refusal(pricePerHour: pricePerHour, hours: hours, policy: policy, spend: current) {
            cheapestRefused = min(cheapestRefused ?? pricePerHour, pricePerHour)
            return reason
        }
        reservations[label] = (pricePerHour, hours, now())
        return nil
    }

    public func withdraw(label: InstanceLabel) {
        reservations[label] = nil
    }

    /// The price an order for `label` was admitted at, while it is reserved.
    public func price(of label: InstanceLabel) -> Double? {
        reservations[label]?.pricePerHour
    }
}
