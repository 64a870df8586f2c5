import ErgonCore
import ErgonPostgres
import ErgonTestSupport
import Foundation
import Testing

/// The queue conformance suite against the PostgreSQL queue, each check on a fresh database.
/// Serialized: each case opens several databases and pools, which would crowd the server.
@Suite(.postgresServer, .serialized) struct PostgresTaskQueueConformanceTests {
    @Test(arguments: QueueConformance.Check.allCases)
    func conformance(_ check: QueueConformance.Check) async throws {
        try await withPostgresScratch { scratch in
            try await check.run { try await scratch.makeQueue() }
        }
    }

    @Test(arguments: TaskState.allCases)
    func operations(from state: TaskState) async throws {
        try await withPostgresScratch { scratch in
            try await QueueConformance.operations(from: state) { try await scratch.makeQueue() }
        }
    }

    // `wakeupFileIsTouched` does not apply: agents on PostgreSQL are woken by NOTIFY.

    @Test func changesYieldAfterASubmitThroughAnotherQueueObject() async throws {
        try await withPostgresScratch { scratch in
            let location = try await scratch.makeDatabase()
            let listening = try await scratch.open(location)
            let submitting = try await scratch.open(location)
            let counter = ChangeCounter(listening.changes())
            // The first element says the listener is listening.
            #expect(try await counter.wait(for: 1, within: .seconds(5)), "the listener did not start")
            try await Task.sleep(for: .milliseconds(100))
            let before = counter.seen

            _ = try await QueueConformance.submit(submitting, [QueueConformance.task("a")])
            #expect(try await counter.wait(for: before + 1, within: .seconds(2)), "no wake-up within 2 s of a submit")

            // The stream ends when its consumer is cancelled.
            await counter.stop()
        }
    }
}
