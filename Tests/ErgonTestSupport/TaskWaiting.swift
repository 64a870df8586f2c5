import ErgonCore
import Foundation
import Testing

/// Waits until `condition` holds for the task in `queue`, polling every 50 ms; records an
/// issue naming the task's state and reason, and throws, after `timeout`.
@discardableResult
public func waitForTask(
    in queue: any TaskQueue, _ id: UUID, timeout: Duration = .seconds(60),
    sourceLocation: SourceLocation = #_sourceLocation, _ condition: @Sendable (TaskRecord) -> Bool
) async throws -> TaskRecord {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let task = try await queue.task(id), condition(task) { return task }
        try await Task.sleep(for: .milliseconds(50))
    }
    let last = try await queue.task(id)
    Issue.record(
        "task \(last?.spec.slug ?? "?") did not reach the expected state in time; it is \(last?.state.rawValue ?? "?") (\(last?.reason ?? ""))",
        sourceLocation: sourceLocation)
    throw CancellationError()
}
