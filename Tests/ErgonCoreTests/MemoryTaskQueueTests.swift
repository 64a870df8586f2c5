import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

/// The queue conformance suite against the in-memory queue.
@Suite struct MemoryTaskQueueTests {
    @Test(arguments: QueueConformance.Check.allCases)
    func conformance(_ check: QueueConformance.Check) async throws {
        try await check.run { MemoryTaskQueue() }
    }

    @Test(arguments: TaskState.allCases)
    func operations(from state: TaskState) async throws {
        try await QueueConformance.operations(from: state) { MemoryTaskQueue() }
    }

    @Test func wakeupFileIsTouched() async throws {
        try await QueueConformance.wakeupFileIsTouched { MemoryTaskQueue(wakeupFile: $0) }
    }
}

/// The transition table itself, pair by pair, against the rules of DESIGN.md §3 and
/// SCHEDULER.md written out independently here.
@Suite struct TaskTransitionTableTests {
    static let legal: [TaskState: Set<TaskState>] = [
        .unscheduled: [.pending, .cancelled, .stopped],
        .pending: [.running, .stopped, .cancelled],
        .running: [.completed, .failed, .error, .pending, .stopping],
        .stopping: [.stopped],
        .completed: [],
        .failed: [.pending, .unscheduled],
        .error: [.pending, .unscheduled],
        .stopped: [.pending, .unscheduled],
        .cancelled: [.pending, .unscheduled],
    ]

    @Test(arguments: TaskState.allCases, TaskState.allCases)
    func transition(from: TaskState, to: TaskState) {
        let expected = Self.legal[from]!.contains(to)
        #expect(TaskTransition.isLegal(from: from, to: to) == expected)
        if expected {
            #expect(throws: Never.self) { try TaskTransition.check(from: from, to: to) }
        } else {
            #expect(throws: IllegalTransition(from: from, to: to)) { try TaskTransition.check(from: from, to: to) }
        }
    }
}
