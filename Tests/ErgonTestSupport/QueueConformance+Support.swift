import ErgonCore
import Foundation
import Testing

/// Building blocks of the conformance checks, public so engine-specific suites reuse them.
extension QueueConformance {
    /// A fixed time, exactly representable however an engine stores dates.
    public static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    /// A task spec with what the queue cares about.
    public static func task(
        _ slug: String, parents: [String] = [], priority: Int = 0, maxAttempts: Int? = nil
    ) -> TaskSpec {
        TaskSpec(
            slug: slug, image: "alpine:3", command: .shell("echo \(slug)"), parents: parents, maxAttempts: maxAttempts,
            priority: priority)
    }

    /// A workflow spec.
    public static func workflow(_ name: String, _ tasks: [TaskSpec], volumes: [String] = []) -> WorkflowSpec {
        WorkflowSpec(name: name, tasks: tasks, volumes: volumes)
    }

    /// Submits one workflow of these tasks (default budget 2 attempts) and returns them by slug.
    public static func submit(
        _ queue: any TaskQueue, _ tasks: [TaskSpec], volumes: [String] = [], defaultMaxAttempts: Int = 2
    ) async throws -> [String: TaskRecord] {
        let (_, records) = try await queue.submit(
            workflow("wf", tasks, volumes: volumes), defaultMaxAttempts: defaultMaxAttempts, at: t0)
        return bySlug(records)
    }

    /// Records by slug.
    public static func bySlug(_ tasks: [TaskRecord]) -> [String: TaskRecord] {
        Dictionary(uniqueKeysWithValues: tasks.map { ($0.spec.slug, $0) })
    }

    /// The current states of these tasks, by slug.
    public static func states(_ queue: any TaskQueue, _ tasks: [String: TaskRecord]) async throws -> [String: TaskState] {
        var states: [String: TaskState] = [:]
        for (slug, task) in tasks { states[slug] = try await queue.task(task.id)?.state }
        return states
    }

    /// Claims a pending task and ends its attempt with `outcome`; returns the task afterwards.
    @discardableResult
    public static func runAttempt(
        _ queue: any TaskQueue, _ task: TaskRecord, _ outcome: AttemptOutcome, agentID: String = "agent"
    ) async throws -> TaskRecord {
        let held = try #require(try await queue.claim(taskID: task.id, agentID: agentID, gpu: nil, at: t0))
        return try await queue.finishAttempt(taskID: task.id, attempt: held.attempt.number, outcome: outcome, at: t0)
    }

    /// Claims every task from several claimers per queue at once, each trying all tasks in its
    /// own order; returns every claim that succeeded.
    public static func claimConcurrently(
        _ ids: [UUID], on queues: [any TaskQueue], claimersPerQueue: Int
    ) async throws -> [HeldTask] {
        try await withThrowingTaskGroup(of: [HeldTask].self) { group in
            for (queueNumber, queue) in queues.enumerated() {
                for claimer in 0..<claimersPerQueue {
                    group.addTask {
                        var won: [HeldTask] = []
                        for id in ids.shuffled() {
                            let agent = "agent-\(queueNumber)-\(claimer)"
                            if let held = try await queue.claim(taskID: id, agentID: agent, gpu: nil, at: t0) {
                                won.append(held)
                            }
                        }
                        return won
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Submits `rounds` workflows of three tasks (a, b after a, c) through each queue at once;
    /// returns every submitted task.
    public static func submitConcurrently(on queues: [any TaskQueue], rounds: Int) async throws -> [TaskRecord] {
        try await withThrowingTaskGroup(of: [TaskRecord].self) { group in
            for (number, queue) in queues.enumerated() {
                for round in 0..<rounds {
                    group.addTask {
                        let spec = workflow("w\(number)-\(round)", [task("a"), task("b", parents: ["a"]), task("c")])
                        return try await queue.submit(spec, defaultMaxAttempts: 1, at: t0).1
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Expects `body` to throw a `QueueError` of this kind whose message contains every part.
    public static func expectQueueError(
        _ kind: QueueError.Kind, containing parts: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected QueueError(.\(kind)), but nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as QueueError {
            #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
            for part in parts {
                #expect(error.message.contains(part), "\"\(error.message)\" lacks \"\(part)\"", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected QueueError(.\(kind)), got \(error)", sourceLocation: sourceLocation)
        }
    }
}
