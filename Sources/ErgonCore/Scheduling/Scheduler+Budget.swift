import Foundation
import Logging

/// The agent's side of the money caps (`budget`, `vast_api.max_dph`): it keeps the account,
/// stops claiming while a cap is reached, and lets a task whose order a cap refused wait.
extension Scheduler {
    /// How long a task whose order a cap refused is left alone before it is tried again: 30 s,
    /// doubling with each refusal in a row, up to 10 minutes (each try searches the offers).
    static func deferral(after refusals: Int) -> TimeInterval {
        min(30 * pow(2, Double(max(0, refusals - 1))), 600)
    }

    /// Renews the account from the listing and the queue, and says whether a cap holds every
    /// order back now. A change of the reason is logged once; with `max_total_spend` set, a
    /// failure to read the queue's spend holds orders back too (a cap that cannot be checked is
    /// not passed).
    func budgetHolds(listing: [BackendInstance]) async -> Bool {
        // Only rented instances cost money: a docker agent's work is never held back.
        guard mode == ErgonConfig.Mode.vast.rawValue else { return false }
        let reason: String?
        do {
            await ledger.renew(listing: listing, billed: try await billedAttempts())
            let spend = await ledger.current
            ErgonMetrics.spend(perHour: spend.perHour, total: spend.total)
            reason = await ledger.hold()
        } catch {
            // A cap that cannot be checked is not passed; without a total cap nothing needs it.
            reason = budget.maxTotalSpend == nil ? nil : "the spend of the period could not be read from the queue: \(error)"
        }
        if reason != launchHold {
            if let reason {
                logger.warning("ordering nothing new: \(reason); pending tasks wait")
            } else {
                logger.info("ordering again: the spend is back under the budget")
            }
            launchHold = reason
        }
        return reason != nil
    }

    /// The priced attempts of the budget's period, read from the queue at most every 30 s (the
    /// ledger counts the orders placed in between).
    func billedAttempts() async throws -> [AttemptRecord] {
        let time = now()
        if let read = billedRead, time.timeIntervalSince(read.at) < 30, time >= read.at { return read.attempts }
        let attempts = try await queue.billedAttempts(since: time.addingTimeInterval(-budget.period))
        billedRead = (time, attempts)
        return attempts
    }

    /// Tasks still waiting out a deferral. Deferrals over for an hour are forgotten (the task
    /// was ordered by another agent, cancelled, or is tried again with a fresh backoff).
    func deferredTasks() -> Set<UUID> {
        let time = now()
        deferredUntil = deferredUntil.filter { time.timeIntervalSince($0.value.until) < 3600 }
        return Set(deferredUntil.filter { $0.value.until > time }.keys)
    }

    /// Lets a task whose order a cap refused wait before it is tried again; returns how long.
    @discardableResult
    func deferLaunch(of taskID: UUID) -> TimeInterval {
        let refusals = (deferredUntil[taskID]?.refusals ?? 0) + 1
        let wait = Self.deferral(after: refusals)
        deferredUntil[taskID] = (now().addingTimeInterval(wait), refusals)
        return wait
    }

    /// Forgets a task's deferrals once it was ordered (or ended otherwise).
    func endDeferral(of taskID: UUID) {
        deferredUntil[taskID] = nil
    }

    /// How many hours an order for `task` counts against `budget.max_total_spend`: its own
    /// timeout, else `budget.assumed_runtime`.
    func expectedHours(of task: TaskRecord) -> Double {
        task.spec.timeoutSeconds.map { $0 / 3600 } ?? budget.orderHours
    }

    /// How many past runs a launch is told of.
    public static let pastRunsConsidered = 20

    /// The run times of the last tasks with `spec`'s slug and image; none when the queue
    /// cannot say (the ranking then falls back to the timeout, and the launch goes on).
    func pastRunTimes(of spec: TaskSpec) async -> [TimeInterval] {
        do {
            return try await queue.pastRunTimes(slug: spec.slug, image: spec.image, limit: Self.pastRunsConsidered)
        } catch {
            logger.warning("task \(spec.slug): past run times unavailable (\(error)); ranking without them")
            return []
        }
    }
}
