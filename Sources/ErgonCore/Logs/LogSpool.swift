import Foundation

/// The append-only local files that receive attempts' output before they are shipped.
/// Everything read from a backend lands here first, so nothing is lost when the store is down.
public struct LogSpool: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The spool file of an attempt.
    public func path(taskID: UUID, attempt: Int) -> String {
        directory + "/\(taskID.uuidString.lowercased())/\(attempt).log"
    }

    /// The spool file of a log.
    public func path(of key: LogKey) -> String { directory + "/" + key.taskPath }

    /// Writes `bytes` at `offset` (the attempt's spooled size as recorded in the queue) and
    /// syncs them. Bytes past `offset` from a write that was never recorded are overwritten.
    public func append(taskID: UUID, attempt: Int, at offset: Int64, bytes: [UInt8]) throws {
        let path = self.path(taskID: taskID, attempt: attempt)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw LogStoreError(path: path, errno: errno) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(offset)) == 0 else { throw LogStoreError(path: path, errno: errno) }
        try Self.writeAll(fd: fd, bytes: bytes, at: offset, path: path)
        guard fsync(fd) == 0 else { throw LogStoreError(path: path, errno: errno) }
    }

    /// Reads the spool from `offset` on, at most `limit` bytes.
    public func read(taskID: UUID, attempt: Int, from offset: Int64, limit: Int = 8 << 20) throws -> [UInt8] {
        try Reader(path: path(taskID: taskID, attempt: attempt)).read(from: offset, limit: limit)
    }

    /// Reads ranges of one log file; a missing file reads as empty.
    public struct Reader: Sendable {
        public let path: String

        public init(path: String) { self.path = path }

        public func read(from offset: Int64, limit: Int) throws -> [UInt8] {
            guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(max(0, offset)))
            if limit == Int.max { return [UInt8](try handle.readToEnd() ?? Data()) }
            return [UInt8](try handle.read(upToCount: limit) ?? Data())
        }
    }

    static func writeAll(fd: Int32, bytes: [UInt8], at offset: Int64, path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LogStoreError(path: path, errno: errno)
            }
            written += n
        }
    }
}
