import Foundation
import Logging

/// Copies what the spool holds beyond what the store has, so the bytes uploaded grow with
/// the log instead of re-sending it whole.
public struct LogShipper: Sendable {
    public let spool: LogSpool
    public let store: any LogStore

    public init(spool: LogSpool, store: any LogStore) {
        self.spool = spool
        self.store = store
    }

    /// Ships the attempt's unshipped bytes; returns the attempt with `logShipped` advanced.
    /// A store failure leaves the bytes in the spool for the next try and is rethrown.
    public func ship(_ attempt: AttemptRecord) async throws -> AttemptRecord {
        var attempt = attempt
        let key = LogKey.of(taskID: attempt.taskID, attempt: attempt.number)
        while attempt.logShipped < attempt.logSpooled {
            let limit = Int(min(attempt.logSpooled - attempt.logShipped, 8 << 20))
            let bytes = try spool.read(taskID: attempt.taskID, attempt: attempt.number, from: attempt.logShipped, limit: limit)
            guard !bytes.isEmpty else { break }
            try await store.write(key: key, offset: attempt.logShipped, bytes: bytes)
            attempt.logShipped += Int64(bytes.count)
        }
        return attempt
    }
}
