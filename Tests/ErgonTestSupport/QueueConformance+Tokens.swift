import ErgonCore
import Foundation
import Testing

extension QueueConformance {
    /// Worker tokens: the queue finds a grant by hash only; a new attempt's grant replaces the
    /// old attempt's; `WorkerAuthorization` accepts a token only while its attempt is the
    /// task's live one and before its expiry, and scopes it to the task and its parents.
    public static func workerTokens(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        let tasks = try await submit(queue, [task("a"), task("b", parents: ["a"]), task("c")])
        let a = tasks["a"]!
        let b = tasks["b"]!
        let first = WorkerToken.generate()
        #expect(first.value.count == 64 && first.hash != first.value && first.hash.count == 64)
        #expect(WorkerToken.generate().value != first.value)
        #expect("\(first)" == "(worker token)")

        // No grant before one is recorded; an attempt that is not running is refused.
        #expect(try await queue.tokenGrant(hash: first.hash) == nil)
        await #expect(throws: WorkerAuthorization.Refusal.unknown) {
            _ = try await WorkerAuthorization.check(header: "Ponos \(first.value)", queue: queue, now: t0)
        }
        _ = try #require(try await queue.claim(taskID: a.id, agentID: "agent-1", gpu: nil, at: t0))
        let grant = TokenGrant(hash: first.hash, taskID: a.id, attempt: 1, expiresAt: t0 + 3600)
        try await queue.recordToken(grant)
        #expect(try await queue.tokenGrant(hash: first.hash) == grant)
        #expect(try await queue.tokenGrant(hash: first.value) == nil, "looked up by hash only")

        let authorization = try await WorkerAuthorization.check(header: "Ponos \(first.value)", queue: queue, now: t0 + 1)
        #expect(authorization.task.id == a.id && authorization.attempt == 1)
        #expect(authorization.mayRead(a.id) && authorization.mayWrite(a.id))
        #expect(!authorization.mayRead(b.id), "a parent does not read its child")
        #expect(!authorization.mayRead(tasks["c"]!.id) && !authorization.mayWrite(tasks["c"]!.id))

        for (header, refusal) in [
            (nil, WorkerAuthorization.Refusal.missing), ("", .missing), ("Bearer \(first.value)", .malformed),
            ("Ponos", .malformed), ("Ponos \(first.value)x", .unknown),
        ] as [(String?, WorkerAuthorization.Refusal)] {
            await #expect(throws: refusal, "\(header ?? "nil")") {
                _ = try await WorkerAuthorization.check(header: header, queue: queue, now: t0 + 1)
            }
        }
        await #expect(throws: WorkerAuthorization.Refusal.expired) {
            _ = try await WorkerAuthorization.check(header: "Ponos \(first.value)", queue: queue, now: t0 + 3600)
        }

        // The attempt ends with a system error: the task is pending again and the token dead.
        _ = try await queue.finishAttempt(taskID: a.id, attempt: 1, outcome: .systemError(reason: "lost"), at: t0 + 2)
        await #expect(throws: WorkerAuthorization.Refusal.attemptEnded) {
            _ = try await WorkerAuthorization.check(header: "Ponos \(first.value)", queue: queue, now: t0 + 3)
        }
        // Attempt 2 gets its own token; attempt 1's is gone from the queue.
        _ = try #require(try await queue.claim(taskID: a.id, agentID: "agent-1", gpu: nil, at: t0 + 4))
        let second = WorkerToken.generate()
        try await queue.recordToken(TokenGrant(hash: second.hash, taskID: a.id, attempt: 2, expiresAt: t0 + 3600))
        #expect(try await queue.tokenGrant(hash: first.hash) == nil)
        #expect(try await WorkerAuthorization.check(header: "Ponos \(second.value)", queue: queue, now: t0 + 5).attempt == 2)

        // The child's token reads its parent, writes only itself.
        _ = try await queue.finishAttempt(taskID: a.id, attempt: 2, outcome: .exited(code: 0), at: t0 + 6)
        _ = try #require(try await queue.claim(taskID: b.id, agentID: "agent-1", gpu: nil, at: t0 + 7))
        let child = WorkerToken.generate()
        try await queue.recordToken(TokenGrant(hash: child.hash, taskID: b.id, attempt: 1, expiresAt: t0 + 3600))
        let childAuthorization = try await WorkerAuthorization.check(header: "Ponos  \(child.value) ", queue: queue, now: t0 + 8)
        #expect(childAuthorization.mayRead(a.id) && !childAuthorization.mayWrite(a.id))
        #expect(childAuthorization.mayRead(b.id) && childAuthorization.mayWrite(b.id))
    }
}
