import ErgonCore
import Foundation
import Testing

/// Checks of every queue operation from every task state: what it does, and that every
/// state change it makes is one `TaskTransition` allows.
extension QueueConformance {
    /// An operation a user or the agent performs on a task.
    public enum Operation: CaseIterable, Sendable, CustomStringConvertible {
        /// The agent claims the task.
        case claim
        /// A user cancels the task.
        case cancel
        /// A user retries the task.
        case retry
        /// The agent ends the task's current attempt with this outcome.
        case finish(AttemptOutcome)

        /// Every operation, with each kind of attempt outcome.
        public static var allCases: [Operation] {
            [.claim, .cancel, .retry, .finish(.exited(code: 0)), .finish(.exited(code: 3)),
             .finish(.systemError(reason: "lost")), .finish(.timedOut(reason: "too long")),
             .finish(.unrecoverable(reason: "no such image")), .finish(.stopped), .finish(.deferred(reason: "over budget")),
             .finish(.rejectedHost(reason: "the acceptance check `nvidia-smi` failed with status 1"))]
        }

        /// The operation's name in test output.
        public var description: String {
            switch self {
            case .claim: return "claim"
            case .cancel: return "cancel"
            case .retry: return "retry"
            case .finish(let outcome): return "finish(\(outcome.summary))"
            }
        }
    }

    /// What an operation on a task in a given state must do.
    enum Expectation: Equatable {
        /// The task moves to this state.
        case moves(to: TaskState)
        /// Nothing changes and nothing is thrown (a lost claim, a repeated cancel).
        case unchanged
        /// The queue refuses with `.illegalTransition` and changes nothing.
        case refused
    }

    /// Applies every operation to a task in `state` (each on a fresh queue) and checks the result.
    public static func operations(from state: TaskState, _ make: TaskQueueFactory) async throws {
        for operation in Operation.allCases {
            let queue = try await make()
            let (target, tasks) = try await drive(queue, to: state)
            #expect(target.state == state, "driving the task to \(state)")
            let before = try await queue.attempts(of: target.id)
            let expectation = expected(operation, from: state)
            do {
                try await perform(operation, on: target, in: queue)
                #expect(expectation != .refused, "\(operation) from \(state) should be refused")
            } catch let error as QueueError {
                #expect(expectation == .refused, "\(operation) from \(state): \(error)")
                #expect(error.kind == .illegalTransition && error.message.contains("task \(target.spec.slug) ("))
                if case .cancel = operation {
                    #expect(error.message == "task \(WorkflowEdit.name(target)) is already \(state.rawValue)")
                }
                if case .retry = operation, state != .cancelled { #expect(error.message.contains(state.rawValue)) }
            }
            let after = try #require(try await queue.task(target.id))
            switch expectation {
            case .moves(let next):
                #expect(after.state == next, "\(operation) from \(state)")
                #expect(TaskTransition.isLegal(from: state, to: next), "\(operation): \(state) → \(next)")
            case .unchanged, .refused:
                #expect(after == target, "\(operation) from \(state) changed nothing")
                #expect(try await queue.attempts(of: target.id) == before)
            }
            try await checkDescendants(after, tasks, queue, operation)
        }
    }

    /// What `operation` does to the task `drive` put in `state` (it has a child and a grandchild;
    /// the cancelled one's parent failed; tasks have 2 attempts).
    static func expected(_ operation: Operation, from state: TaskState) -> Expectation {
        switch (operation, state) {
        case (.claim, .pending): return .moves(to: .running)
        case (.claim, _): return .unchanged
        case (.cancel, .unscheduled), (.cancel, .pending): return .moves(to: .stopped)
        case (.cancel, .running): return .moves(to: .stopping)
        case (.cancel, .stopping): return .unchanged
        case (.cancel, _): return .refused
        case (.retry, .failed), (.retry, .error), (.retry, .stopped): return .moves(to: .pending)
        case (.retry, _): return .refused
        case (.finish, .stopping): return .moves(to: .stopped)
        case (.finish(let outcome), .running):
            switch outcome {
            case .systemError, .hostFailure, .exitStatusInLog, .deferred, .rejectedHost: return .moves(to: .pending)
            // A user's stop always goes through `stopping`; the transition table has no
            // running → stopped, so a `.stopped` outcome for a task nobody stopped is refused.
            case .stopped: return .refused
            case .exited, .timedOut, .unrecoverable: return .moves(to: outcome.finalState)
            }
        case (.finish, _): return .refused
        }
    }

    /// Puts a task of the workflow a → b → c (plus an unrelated root z) in `state`; returns
    /// it and the workflow's tasks.
    static func drive(_ queue: any TaskQueue, to state: TaskState) async throws -> (TaskRecord, [String: TaskRecord]) {
        let tasks = try await submit(queue, [task("a"), task("b", parents: ["a"]), task("c", parents: ["b"]), task("z")])
        let a = tasks["a"]!
        var slug = "a"
        switch state {
        case .unscheduled: slug = "b"
        case .pending: break
        case .running: _ = try await queue.claim(taskID: a.id, agentID: "agent", gpu: nil, at: t0)
        case .stopping:
            _ = try await queue.claim(taskID: a.id, agentID: "agent", gpu: nil, at: t0)
            _ = try await queue.cancel(taskID: a.id, at: t0)
        case .completed: try await runAttempt(queue, a, .exited(code: 0))
        case .failed: try await runAttempt(queue, a, .exited(code: 1))
        case .error: try await runAttempt(queue, a, .timedOut(reason: "too long"))
        case .stopped: _ = try await queue.cancel(taskID: a.id, at: t0)
        case .cancelled:
            try await runAttempt(queue, a, .exited(code: 1))
            slug = "b"
        }
        return (try #require(try await queue.task(tasks[slug]!.id)), tasks)
    }

    static func perform(_ operation: Operation, on task: TaskRecord, in queue: any TaskQueue) async throws {
        switch operation {
        case .claim: _ = try await queue.claim(taskID: task.id, agentID: "other-agent", gpu: nil, at: t0 + 1)
        case .cancel: _ = try await queue.cancel(taskID: task.id, at: t0 + 1)
        case .retry: _ = try await queue.retry(taskID: task.id, at: t0 + 1)
        case .finish(let outcome):
            _ = try await queue.finishAttempt(taskID: task.id, attempt: task.attempt, outcome: outcome, at: t0 + 1)
        }
    }

    /// After the operation, the task's descendants are cancelled exactly when it ended badly,
    /// released when it completed, waiting otherwise; the unrelated task never moves.
    static func checkDescendants(
        _ task: TaskRecord, _ tasks: [String: TaskRecord], _ queue: any TaskQueue, _ operation: Operation
    ) async throws {
        let all = try await states(queue, tasks)
        #expect(all["z"] == .pending, "\(operation) left the unrelated task alone")
        let children = task.spec.slug == "a" ? ["b", "c"] : ["c"]
        for (index, child) in children.enumerated() {
            let state = all[child]!
            if task.state.blocksDescendants {
                #expect(state == .cancelled, "\(child) after \(operation) left \(task.spec.slug) \(task.state)")
            } else if task.state == .completed && index == 0 {
                #expect(state == .pending, "\(child) released after \(operation)")
            } else {
                #expect(state == .unscheduled, "\(child) waits after \(operation) left \(task.spec.slug) \(task.state)")
            }
        }
    }

    /// Submit, cancel and retry touch the wake-up file (creating it first); the agent's own
    /// writes (claim, finishing an attempt) do not. `make` gets the file's path.
    public static func wakeupFileIsTouched(_ make: @Sendable (String) async throws -> any TaskQueue) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-wakeup-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/wakeup"
        let queue = try await make(path)
        let past = Date(timeIntervalSince1970: 1_000_000_000)
        func modified() throws -> Date {
            try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        }
        func setPast() throws { try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: path) }

        #expect(!FileManager.default.fileExists(atPath: path))
        let tasks = try await submit(queue, [task("a"), task("b"), task("c")])
        #expect(FileManager.default.fileExists(atPath: path), "submit creates the wake-up file")

        try setPast()
        _ = try await queue.claim(taskID: tasks["a"]!.id, agentID: "agent", gpu: nil, at: t0)
        _ = try await queue.finishAttempt(taskID: tasks["a"]!.id, attempt: 1, outcome: .exited(code: 1), at: t0)
        #expect(try modified() == past, "the agent's own writes do not wake it")

        _ = try await queue.cancel(taskID: tasks["b"]!.id, at: t0)
        #expect(try modified() > past, "cancel touches the wake-up file")
        try setPast()
        _ = try await queue.retry(taskID: tasks["a"]!.id, at: t0)
        #expect(try modified() > past, "retry touches the wake-up file")
        try setPast()
        _ = try await queue.submit(workflow("again", [task("x")]), defaultMaxAttempts: 1, at: t0)
        #expect(try modified() > past, "submit touches the wake-up file")
        try setPast()
        await expectQueueError(.illegalTransition) { _ = try await queue.cancel(taskID: tasks["b"]!.id, at: t0) }
        #expect(try modified() == past, "a refused cancel changes nothing and wakes nobody")
    }
}
