import Foundation

/// A log store in a local directory (`logs.store: file://DIR`), laid out as
/// `DIR/<task id>/<attempt>.log`. Each call appends what the spool holds beyond the file's size.
public struct FileLogStore: LogStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func ship(_ log: SpooledLog) async throws -> Int64 {
        let path = self.path(of: log.key)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw LogStoreError(path: path, errno: errno) }
        defer { close(fd) }
        var size = Int64(lseek(fd, 0, SEEK_END))
        if size > log.length {
            // Bytes past what the queue recorded may be rewritten in the spool: drop them.
            guard ftruncate(fd, off_t(log.length)) == 0 else { throw LogStoreError(path: path, errno: errno) }
            size = log.length
        }
        let spool = LogSpool.Reader(path: log.path)
        while size < log.length {
            let bytes = try spool.read(from: size, limit: Int(min(log.length - size, 8 << 20)))
            guard !bytes.isEmpty else {
                throw LogStoreError(path: log.path, errno: EIO, detail: "the spool ends at byte \(size), not \(log.length)")
            }
            try LogSpool.writeAll(fd: fd, bytes: bytes, at: size, path: path)
            size += Int64(bytes.count)
        }
        return size
    }

    public func read(key: LogKey, from offset: Int64) async throws -> [UInt8]? {
        let path = self.path(of: key)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try LogSpool.Reader(path: path).read(from: offset, limit: Int.max)
    }

    public func location(key: LogKey) -> String { path(of: key) }

    /// The files of the task's folder, `DIR/<task id>/`.
    public func objects(workflowID: UUID, taskID: UUID) async throws -> [StoredObject] {
        try FolderContents(path: directory + "/" + taskID.uuidString.lowercased()).files()
    }

    /// Removes the files, then the task's folder once empty.
    public func remove(_ objects: [StoredObject]) async throws {
        try FolderContents.remove(objects)
    }

    private func path(of key: LogKey) -> String { directory + "/" + key.taskPath }
}

/// A file operation on a log failed.
public struct LogStoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32
    public var detail: String?

    public init(path: String, errno: Int32, detail: String? = nil) {
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public var description: String { "\(path): \(detail ?? String(cString: strerror(errno)))" }
}
