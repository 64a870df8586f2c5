import ErgonCore
import Foundation
import Testing

extension QueueConformance {
    /// A deferred attempt, or a host rejected by its acceptance check, returns the task to
    /// `pending` without spending one of its attempts;
    /// `billedAttempts(since:)` returns the priced attempts still billing or ended after `since`.
    public static func billing(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a", maxAttempts: 1), task("b1"), task("b2"), task("b3"), task("free")])
        let a = tasks["a"]!
        for number in 1...3 {
            let after = try await runAttempt(queue, a, .deferred(reason: "budget.max_hourly_spend $2.00/h reached"))
            #expect(after.state == .pending && after.attempt == number && after.attemptBase == number)
            #expect(after.reason == "waiting: budget.max_hourly_spend $2.00/h reached")
            #expect(after.agentID == nil)
        }
        let rejected = AttemptOutcome.rejectedHost(reason: "the acceptance check `nvidia-smi` failed with status 1")
        let afterRejection = try await runAttempt(queue, a, rejected)
        #expect(afterRejection.state == .pending && afterRejection.attempt == 4 && afterRejection.attemptBase == 4)
        #expect(afterRejection.reason == "host rejected: the acceptance check `nvidia-smi` failed with status 1; ordering another")
        // Its single real attempt is still there to spend.
        #expect(try await runAttempt(queue, a, .systemError(reason: "host lost")).state == .error)
        #expect(try await queue.attempts(of: a.id).map(\.outcome) == [
            .deferred(reason: "budget.max_hourly_spend $2.00/h reached"),
            .deferred(reason: "budget.max_hourly_spend $2.00/h reached"),
            .deferred(reason: "budget.max_hourly_spend $2.00/h reached"),
            rejected,
            .systemError(reason: "host lost"),
        ])

        // Priced attempts: one ended an hour before the window, one ended inside it, one live.
        func priced(_ slug: String, price: Double?, from: Date, endedAt: Date?) async throws -> AttemptRecord {
            let held = try #require(try await queue.claim(taskID: tasks[slug]!.id, agentID: "agent", gpu: nil, at: from))
            var attempt = held.attempt
            attempt.pricePerHour = price
            attempt.billedFrom = from
            attempt.instanceID = "i-\(slug)-\(attempt.number)"
            try await queue.updateAttempt(attempt)
            guard let endedAt else { return attempt }
            _ = try await queue.finishAttempt(
                taskID: attempt.taskID, attempt: attempt.number, outcome: .systemError(reason: "lost"), at: endedAt)
            return try #require(try await queue.attempts(of: attempt.taskID).last)
        }
        let old = try await priced("b1", price: 1.0, from: t0, endedAt: t0 + 3600)
        let recent = try await priced("b2", price: 2.0, from: t0 + 7000, endedAt: t0 + 9000)
        let live = try await priced("b3", price: 0.5, from: t0 + 9000, endedAt: nil)
        _ = try await priced("free", price: nil, from: t0, endedAt: nil)
        let since = t0 + 7200
        let billed = try await queue.billedAttempts(since: since)
        #expect(Set(billed.map { "\($0.taskID)/\($0.number)" }) == Set([recent, live].map { "\($0.taskID)/\($0.number)" }))
        #expect(!billed.contains { $0.taskID == old.taskID && $0.number == old.number })
        let spend = billed.reduce(0) { $0 + $1.cost(from: since, to: t0 + 10800) }
        // recent: 2 $/h over 7200…9000 s (1800 s) = 1.0; live: 0.5 $/h over 9000…10800 s = 0.25.
        #expect(abs(spend - 1.25) < 1e-9)
    }
}
