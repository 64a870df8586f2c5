import ErgonCore
import Foundation

extension TasksCommand.Show {
    /// The attempts of `tasks show` as text: one row each (its instance, how long provisioning
    /// took, price, cost and why it ended), then, for rented instances, which offer was ordered
    /// and why that one.
    static func attemptsText(_ attempts: [AttemptRecord], at now: Date) -> String {
        var text = "attempts:\n" + TaskTable.table(
            ["#", "PHASE", "INSTANCE", "GPU", "STARTED", "ENDED", "PROVISIONED", "$/H", "COST", "WHY IT ENDED"],
            attempts.map { a in
                [
                    "\(a.number)", a.phase.rawValue, a.instanceID.map { String($0.prefix(12)) } ?? "-", a.gpu ?? "-",
                    a.startedAt.map(time) ?? "-", a.endedAt.map(time) ?? "-", a.provisioningState,
                    a.pricePerHour.map { String(format: "%.3f", $0) } ?? "-",
                    a.cost(at: now).map(BudgetCheck.money) ?? "-", a.endReason ?? "",
                ]
            })
        let rented = attempts.compactMap { a in a.rental.map { (a.number, $0) } }
        guard !rented.isEmpty else { return text }
        text += "\n\nrentals:\n"
        text += TaskTable.table(
            ["#", "OFFER", "MACHINE", "GPU MODEL", "RANK", "RANKING", "SCORE", "WHY THIS OFFER"],
            rented.map { number, rental in
                [
                    "\(number)", rental.offerID, rental.machineID, rental.gpuName, "\(rental.rank) of \(rental.matched)",
                    rental.ranking, String(format: "%.3f", rental.score),
                    rental.reason ?? (rental.rank == 1 ? "first choice" : ""),
                ]
            })
        return text
    }
}
