import Foundation

/// A log store in a local directory (`logs.store: file://DIR`).
public struct FileLogStore: LogStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func write(key: String, offset: Int64, bytes: [UInt8]) async throws {
        let path = try self.path(of: key)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw LogStoreError(path: path, errno: errno) }
        defer { close(fd) }
        // Truncating to the offset first makes a repeated write of the same range idempotent.
        guard ftruncate(fd, off_t(offset)) == 0 else { throw LogStoreError(path: path, errno: errno) }
        try LogSpool.writeAll(fd: fd, bytes: bytes, at: offset, path: path)
    }

    public func read(key: String, from offset: Int64) async throws -> [UInt8]? {
        let path = try self.path(of: key)
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(0, offset)))
        return [UInt8](try handle.readToEnd() ?? Data())
    }

    public func location(key: String) -> String { directory + "/" + key }

    private func path(of key: String) throws -> String {
        // Keys are made by LogKey; refuse anything that could climb out of the directory.
        guard !key.hasPrefix("/"), !key.split(separator: "/").contains("..") else {
            throw LogStoreError(path: key, errno: EINVAL)
        }
        return directory + "/" + key
    }
}

/// A file operation on a log failed.
public struct LogStoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32
    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
