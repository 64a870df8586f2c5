import Foundation

/// Durable storage for task logs, filled from the local spool.
///
/// The spool is the source of truth until the store says the log is final: a store may fail at
/// any point (the next call starts again from what it recorded), and a call may be repeated
/// with the same or a longer log without duplicating or losing a byte, also after a crash
/// between any two of its steps.
public protocol LogStore: Sendable {
    /// Brings the store's copy of `log` up to the spool's first `log.length` bytes and, when
    /// `log.isComplete`, makes it final: one object holding exactly those bytes, the working
    /// copies gone. Returns how many bytes from the start readers of the store now see.
    func ship(_ log: SpooledLog) async throws -> Int64
    /// Bytes of the log from `offset` on; nil when the store has no trace of it.
    func read(key: LogKey, from offset: Int64) async throws -> [UInt8]?
    /// A human address of the log (for `ergon tasks show`).
    func location(key: LogKey) -> String
    /// Every file or object the store holds for the logs of a task: each attempt's log and
    /// any working copies (S3's live segments). Empty when there is none.
    func objects(workflowID: UUID, taskID: UUID) async throws -> [StoredObject]
    /// Removes objects `objects(workflowID:taskID:)` listed; one already gone is no error.
    func remove(_ objects: [StoredObject]) async throws
}

/// Which log: an attempt of a task of a workflow.
public struct LogKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var workflowID: UUID
    public var taskID: UUID
    public var attempt: Int

    public init(workflowID: UUID, taskID: UUID, attempt: Int) {
        self.workflowID = workflowID
        self.taskID = taskID
        self.attempt = attempt
    }

    /// `<task id>/<attempt>.log`: the spool's and the file store's layout.
    public var taskPath: String { "\(taskID.uuidString.lowercased())/\(attempt).log" }

    /// `<workflow id>/<task id>/<attempt>.log`: object storage's layout.
    public var workflowPath: String { "\(workflowID.uuidString.lowercased())/\(taskPath)" }

    public var description: String { workflowPath }
}

/// An attempt's log as the spool holds it, handed to a store.
public struct SpooledLog: Sendable, Equatable {
    /// Which log.
    public var key: LogKey
    /// The spool file.
    public var path: String
    /// How many bytes of the spool file are the log (recorded in the queue; bytes past it may
    /// be rewritten).
    public var length: Int64
    /// True once the attempt ended and every byte of its output is in the spool.
    public var isComplete: Bool

    public init(key: LogKey, path: String, length: Int64, isComplete: Bool) {
        self.key = key
        self.path = path
        self.length = length
        self.isComplete = isComplete
    }
}
