import Foundation
import Synchronization

/// Moves logs from the spool to the log store, and remembers the ended attempts whose log the
/// store has not made final yet, so that an unreachable store never holds up a task and an
/// agent restart picks the work up again.
///
/// The list of such logs is a folder of small files next to the spool
/// (`SPOOL/.unsealed/<task id>-<attempt>.json`), written before the attempt is recorded as
/// ended and removed once the store holds the final log.
public final class LogShipper: Sendable {
    public let spool: LogSpool
    public let store: any LogStore
    /// Logs with a ship in progress: a second ship of the same log waits for the next round.
    private let inFlight = Mutex<Set<LogKey>>([])
    /// How many bytes of each log the store showed after this process's last ship of it, so
    /// the metrics count only what a ship added (a log's first ship here counts from 0).
    private let visible = Mutex<[LogKey: Int64]>([:])

    public init(spool: LogSpool, store: any LogStore) {
        self.spool = spool
        self.store = store
    }

    /// What a ship did.
    public enum Result: Sendable, Equatable {
        /// The store now shows this many bytes (all of them, and final, when the log was complete).
        case shipped(Int64)
        /// Another ship of the same log is in progress; nothing was done.
        case busy
    }

    /// Ships the first `length` bytes of the log; `complete` makes it final in the store.
    /// A store failure is rethrown; the spool keeps everything for the next try.
    public func ship(_ key: LogKey, length: Int64, complete: Bool) async throws -> Result {
        let claimed = inFlight.withLock { $0.insert(key).inserted }
        guard claimed else { return .busy }
        defer { _ = inFlight.withLock { $0.remove(key) } }
        let log = SpooledLog(key: key, path: spool.path(of: key), length: length, isComplete: complete)
        let shown = try await store.ship(log)
        let before = visible.withLock { lengths in
            defer { lengths[key] = complete ? nil : shown }
            return lengths[key] ?? 0
        }
        ErgonMetrics.logBytesShipped(shown - before)
        return .shipped(shown)
    }

    /// The folder of logs waiting to be made final.
    public var backlogDirectory: String { spool.directory + "/.unsealed" }

    /// Records that `key`'s log is complete at `length` bytes and must still be made final.
    /// Written before the attempt is recorded as ended; durable once this returns.
    public func remember(_ key: LogKey, length: Int64) throws {
        try FileManager.default.createDirectory(atPath: backlogDirectory, withIntermediateDirectories: true)
        let entry = BacklogEntry(key: key, length: length)
        try DurableFile.write(try JSONEncoder().encode(entry), to: markerPath(key))
    }

    /// Forgets `key` once its log is final in the store.
    public func forget(_ key: LogKey) {
        try? FileManager.default.removeItem(atPath: markerPath(key))
    }

    /// The logs still waiting to be made final, oldest first. An unreadable entry is skipped
    /// (and reported in `unreadable`), never deleted: its spool file is still there.
    public func backlog() -> (entries: [BacklogEntry], unreadable: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: backlogDirectory)) ?? []
        var entries: [(Date, BacklogEntry)] = []
        var unreadable: [String] = []
        for name in names where name.hasSuffix(".json") {
            let path = backlogDirectory + "/" + name
            guard let data = FileManager.default.contents(atPath: path),
                let entry = try? JSONDecoder().decode(BacklogEntry.self, from: data)
            else {
                unreadable.append(path)
                continue
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            entries.append((attributes?[.modificationDate] as? Date ?? .distantPast, entry))
        }
        return (entries.sorted { $0.0 < $1.0 }.map(\.1), unreadable)
    }

    private func markerPath(_ key: LogKey) -> String {
        backlogDirectory + "/\(key.taskID.uuidString.lowercased())-\(key.attempt).json"
    }

    /// A complete log the store has not made final yet.
    public struct BacklogEntry: Codable, Sendable, Equatable {
        public var key: LogKey
        public var length: Int64
    }
}

/// Writes small files so that they survive a power loss once the call returns: a temporary
/// file, synced, renamed over the target, and the folder synced.
public enum DurableFile {
    /// Replaces `path` with `data` at once: written and synced under a name of this write's own
    /// (processes sharing a data_dir may write the same file together), then renamed over it.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let temporary = try synced(data, beside: path, mode: mode)
        do {
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Creates `path` holding `data` unless it exists: returns false, leaving the file as it
    /// is, when another writer created it first (the temporary file is linked, never renamed,
    /// so the first writer wins and nobody overwrites it).
    public static func create(_ data: Data, at path: String, mode: mode_t = 0o644) throws -> Bool {
        let temporary = try synced(data, beside: path, mode: mode)
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw LogStoreError(path: path, errno: errno)
        }
        syncFolder(of: path)
        return true
    }

    /// Writes and syncs `data` to a new file next to `path`, named for this process and write.
    private static func synced(_ data: Data, beside path: String, mode: mode_t) throws -> String {
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw LogStoreError(path: temporary, errno: errno) }
        do {
            try LogSpool.writeAll(fd: fd, bytes: [UInt8](data), at: 0, path: temporary)
            guard fsync(fd) == 0 else { throw LogStoreError(path: temporary, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        return temporary
    }

    /// Copies a file of any size in 1 MiB chunks to `destination` (created or truncated) and
    /// syncs it. Never follows a link at `source`: a link is refused.
    public static func copy(from source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_NOFOLLOW)
        guard input >= 0 else { throw LogStoreError(path: source, errno: errno) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw LogStoreError(path: destination, errno: errno) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw LogStoreError(path: source, errno: errno)
            }
            if count == 0 { break }
            try LogSpool.writeAll(fd: output, bytes: Array(buffer[0..<count]), at: offset, path: destination)
            offset += Int64(count)
        }
        guard fsync(output) == 0 else { throw LogStoreError(path: destination, errno: errno) }
    }

    /// Renames `source` over `destination` and syncs the folder, so the new name survives a crash.
    public static func rename(_ source: String, to destination: String) throws {
        guard Foundation.rename(source, destination) == 0 else { throw LogStoreError(path: destination, errno: errno) }
        syncFolder(of: destination)
    }

    private static func syncFolder(of path: String) {
        let dirFD = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}
