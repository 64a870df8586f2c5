import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// The queue conformance suite against the SQLite queue, each check on a fresh file.
@Suite struct SQLiteTaskQueueConformanceTests {
    @Test(arguments: QueueConformance.Check.allCases)
    func conformance(_ check: QueueConformance.Check) async throws {
        try await withScratchDirectory { directory in
            try await check.run { try SQLiteTaskQueue(path: "\(directory)/\(UUID()).sqlite") }
        }
    }

    @Test(arguments: TaskState.allCases)
    func operations(from state: TaskState) async throws {
        try await withScratchDirectory { directory in
            try await QueueConformance.operations(from: state) {
                try SQLiteTaskQueue(path: "\(directory)/\(UUID()).sqlite")
            }
        }
    }

    @Test func wakeupFileIsTouched() async throws {
        try await withScratchDirectory { directory in
            try await QueueConformance.wakeupFileIsTouched {
                try SQLiteTaskQueue(path: "\(directory)/queue.sqlite", wakeupFile: $0)
            }
        }
    }
}
