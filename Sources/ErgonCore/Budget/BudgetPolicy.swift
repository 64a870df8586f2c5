import Foundation

/// The money caps of `budget` in the config. `vast_api.max_dph` caps one instance; these cap
/// what every instance of the agents sharing the queue costs together.
public struct BudgetPolicy: Equatable, Sendable {
    /// The most the live instances may cost per hour together, in dollars (`max_hourly_spend`).
    public var maxHourlySpend: Double?
    /// The most spent over the last `period`, in dollars (`max_total_spend`).
    public var maxTotalSpend: Double?
    /// The rolling window `maxTotalSpend` counts over (`period`, default 30 days).
    public var period: TimeInterval = 30 * 86_400
    /// How long an order counts toward `maxTotalSpend` before it runs: the task's timeout when it
    /// has one, else this (`assumed_runtime`, default 1 hour).
    public var orderHours: Double = 1

    public init(maxHourlySpend: Double? = nil, maxTotalSpend: Double? = nil, period: TimeInterval = 30 * 86_400, orderHours: Double = 1) {
        self.maxHourlySpend = maxHourlySpend
        self.maxTotalSpend = maxTotalSpend
        self.period = period
        self.orderHours = orderHours
    }

    /// True when no cap is set.
    public var isUnlimited: Bool { maxHourlySpend == nil && maxTotalSpend == nil }
}

/// What is being spent now: the basis of every budget decision.
public struct Spend: Equatable, Sendable {
    /// Dollars per hour of the live instances (those listed, and those ordered but not listed yet).
    public var perHour: Double
    /// Dollars spent over the budget's period, the live instances' time so far included.
    public var total: Double

    public init(perHour: Double, total: Double) {
        self.perHour = perHour
        self.total = total
    }
}

/// The budget's decisions, as pure functions of the caps and the spend.
public enum BudgetCheck {
    /// Why nothing at all can be ordered now (a cap is reached), or nil. `cheapestRefused` is
    /// the lowest price an order was refused at since the spend last fell: while the hourly
    /// headroom stays under it, ordering is pointless too.
    public static func hold(_ policy: BudgetPolicy, spend: Spend, cheapestRefused: Double? = nil) -> String? {
        if let cap = policy.maxTotalSpend, spend.total >= cap {
            return "budget.max_total_spend \(money(cap)) reached: \(money(spend.total)) spent over the last \(Reconciler.formatSpan(policy.period))"
        }
        if let cap = policy.maxHourlySpend {
            if spend.perHour >= cap {
                return "budget.max_hourly_spend \(money(cap))/h reached: the live instances cost \(money(spend.perHour))/h"
            }
            if let cheapestRefused, spend.perHour + cheapestRefused > cap {
                return "budget.max_hourly_spend \(money(cap))/h: the live instances cost \(money(spend.perHour))/h and the cheapest matching offer \(money(cheapestRefused))/h"
            }
        }
        return nil
    }

    /// Why an order at `pricePerHour` for an instance expected to live `hours` must not be placed,
    /// or nil when it fits under every cap.
    public static func refusal(pricePerHour: Double, hours: Double, policy: BudgetPolicy, spend: Spend) -> String? {
        if let cap = policy.maxHourlySpend, spend.perHour + pricePerHour > cap {
            return "budget.max_hourly_spend \(money(cap))/h: the live instances cost \(money(spend.perHour))/h and the cheapest matching offer \(money(pricePerHour))/h"
        }
        if let cap = policy.maxTotalSpend, spend.total + pricePerHour * hours > cap {
            return "budget.max_total_spend \(money(cap)): \(money(spend.total)) spent over the last \(Reconciler.formatSpan(policy.period)), and the cheapest matching offer would add \(money(pricePerHour * hours)) (\(money(pricePerHour))/h for \(Reconciler.format(hours * 3600)))"
        }
        return nil
    }

    /// The spend of `attempts` (priced attempts, any agent's) within the policy's period, with
    /// the live instances' `livePerHour`.
    public static func spend(of attempts: [AttemptRecord], livePerHour: Double, policy: BudgetPolicy, at now: Date) -> Spend {
        let start = now.addingTimeInterval(-policy.period)
        return Spend(perHour: livePerHour, total: attempts.reduce(0) { $0 + $1.cost(from: start, to: now) })
    }

    /// Dollars with cents, or more digits for sums under a dollar (`$0.123`).
    public static func money(_ dollars: Double) -> String {
        String(format: abs(dollars) < 1 ? "$%.3f" : "$%.2f", dollars)
    }
}
