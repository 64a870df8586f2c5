import Foundation

/// Durable storage for task logs, written append-only from the spool.
public protocol LogStore: Sendable {
    /// Writes `bytes` at `offset` of the log `key`. Writing the same range again is harmless,
    /// so a retry after a crash never duplicates or loses bytes.
    func write(key: String, offset: Int64, bytes: [UInt8]) async throws
    /// Bytes of the log from `offset` on; nil when the log does not exist.
    func read(key: String, from offset: Int64) async throws -> [UInt8]?
    /// A human address of the log (for `ergon tasks show`).
    func location(key: String) -> String
}

/// The store key of an attempt's log.
public enum LogKey {
    public static func of(taskID: UUID, attempt: Int) -> String {
        "\(taskID.uuidString.lowercased())/\(attempt).log"
    }
}
