import Foundation

extension ConfigLoader {
    static let budgetKeys = ["max_hourly_spend", "max_total_spend", "period", "assumed_runtime"]

    /// Reads `budget`: caps in dollars (`12.5` or `$12.50`), the window of `max_total_spend`,
    /// and how long an order of a task without a timeout is counted for.
    static func readBudget(_ section: DocumentNode?) throws(DocumentNode.Fault) -> BudgetPolicy {
        var budget = BudgetPolicy()
        guard let section, !section.isNull else { return budget }
        let fields = try section.fields(allowed: budgetKeys)
        if let node = fields["max_hourly_spend"], !node.isNull { budget.maxHourlySpend = try node.dollars(allowZero: false) }
        if let node = fields["max_total_spend"], !node.isNull { budget.maxTotalSpend = try node.dollars(allowZero: true) }
        if let node = fields["period"] { budget.period = try node.duration(positive: true).seconds }
        if let node = fields["assumed_runtime"] { budget.orderHours = try node.duration(positive: true).seconds / 3600 }
        return budget
    }
}

extension DocumentNode {
    /// The scalar as an amount of dollars (`12.5`, `$12.50`); zero only when `allowZero`.
    func dollars(allowZero: Bool) throws(Fault) -> Double {
        let text = try scalarText("an amount of dollars such as 25 or $25.50").trimmingCharacters(in: .whitespaces)
        let digits = text.hasPrefix("$") ? String(text.dropFirst()) : text
        guard let value = Double(digits), value.isFinite, value >= 0 else {
            throw fault(.invalidValue, "invalid amount \(shown) (expected dollars such as 25 or $25.50)")
        }
        guard allowZero || value > 0 else {
            throw fault(.invalidValue, "must be more than $0, got \(shown) (leave it out for no cap)")
        }
        return value
    }
}
