import Crypto
import ErgonCore
import Foundation

/// Where the resource cache keeps things under its directory, and the file operations on them:
///
/// ```
/// entries/<key>/content      the file, or the folder of an unpacked archive or an S3 prefix
/// entries/<key>/entry.json   written last: without it the entry is not complete
/// partial/<key>.download     a download in progress or interrupted (resumed by the next fetch)
/// leases/<task id>.json      what a task holds
/// locks/<key>.lock           the key's lock (see ``CacheKeyLock``)
/// ```
struct CacheLayout: Sendable {
    let root: String

    var entriesDirectory: String { root + "/entries" }
    var partialDirectory: String { root + "/partial" }
    var leasesDirectory: String { root + "/leases" }
    var locksDirectory: String { root + "/locks" }

    func entryDirectory(_ key: String) -> String { entriesDirectory + "/" + key }
    func content(_ key: String) -> String { entryDirectory(key) + "/content" }
    func record(_ key: String) -> String { entryDirectory(key) + "/entry.json" }
    func partial(_ key: String) -> String { partialDirectory + "/" + key + ".download" }
    func lock(_ key: String) -> String { locksDirectory + "/" + key + ".lock" }
    func lease(_ taskID: UUID) -> String { leasesDirectory + "/" + taskID.uuidString.lowercased() + ".json" }

    func createDirectories() throws {
        for directory in [entriesDirectory, partialDirectory, leasesDirectory, locksDirectory] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CacheFileError(path: directory, error)
            }
        }
    }

    // MARK: Entries

    /// The entry's record, when the entry is complete.
    func readRecord(_ key: String) -> CacheEntryRecord? {
        guard let data = FileManager.default.contents(atPath: record(key)) else { return nil }
        return try? Self.decoder.decode(CacheEntryRecord.self, from: data)
    }

    /// Writes the record atomically: from then on the entry is complete.
    func writeRecord(_ entry: CacheEntryRecord, key: String) throws {
        do {
            try DurableFile.write(try Self.encoder.encode(entry), to: record(key))
        } catch {
            throw CacheFileError(path: record(key), error)
        }
    }

    /// Every complete entry, by key.
    func completeEntries() -> [String: CacheEntryRecord] {
        var entries: [String: CacheEntryRecord] = [:]
        for key in Self.names(in: entriesDirectory) {
            if let entry = readRecord(key) { entries[key] = entry }
        }
        return entries
    }

    /// Removes a complete entry, its record first so that no reader ever takes half of it.
    func removeEntry(_ key: String) throws {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: record(key)) { try fm.removeItem(atPath: record(key)) }
            try fm.removeItem(atPath: entryDirectory(key))
        } catch {
            throw CacheFileError(path: entryDirectory(key), error)
        }
    }

    /// The files of unfinished work, by key: entry folders without a record, downloads in
    /// `partial/`, and lock files of keys that have nothing else.
    func leftovers() -> [String: [String]] {
        var found: [String: [String]] = [:]
        for key in Self.names(in: entriesDirectory) where !FileManager.default.fileExists(atPath: record(key)) {
            found[key, default: []].append(entryDirectory(key))
        }
        for name in Self.names(in: partialDirectory) {
            let key = String(name.prefix { $0 != "." })
            found[key, default: []].append(partialDirectory + "/" + name)
        }
        for name in Self.names(in: locksDirectory) {
            let key = String(name.prefix { $0 != "." })
            if found[key] == nil, !FileManager.default.fileExists(atPath: record(key)) {
                found[key] = [locksDirectory + "/" + name]
            }
        }
        return found
    }

    /// After a failed download, holding the key's lock: removes the entry's folder when the
    /// failure left it empty, and the lock file when nothing of the key is left.
    func tidy(_ key: String) {
        _ = rmdir(entryDirectory(key))
        var info = stat()
        if lstat(partial(key), &info) != 0, lstat(entryDirectory(key), &info) != 0 {
            _ = unlink(lock(key))
        }
    }

    // MARK: Leases

    func readLease(_ taskID: UUID) -> CacheLease? {
        guard let data = FileManager.default.contents(atPath: lease(taskID)) else { return nil }
        return try? Self.decoder.decode(CacheLease.self, from: data)
    }

    func writeLease(_ held: CacheLease) throws {
        do {
            try DurableFile.write(try Self.encoder.encode(held), to: lease(held.taskID))
        } catch {
            throw CacheFileError(path: lease(held.taskID), error)
        }
    }

    /// The tasks with a lease file.
    func leaseHolders() -> Set<UUID> {
        Set(Self.names(in: leasesDirectory).compactMap { name in
            name.hasSuffix(".json") ? UUID(uuidString: String(name.dropLast(5))) : nil
        })
    }

    /// Which tasks hold each key, read from disk (another process may have changed them).
    func holdersByKey() -> [String: Set<UUID>] {
        var holders: [String: Set<UUID>] = [:]
        for taskID in leaseHolders() {
            guard let held = readLease(taskID) else { continue }
            for key in held.keys { holders[key, default: []].insert(taskID) }
        }
        return holders
    }

    // MARK: Files

    /// Bytes of a file, or of every file in a folder; links count as nothing.
    static func diskSize(_ path: String) -> Int64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            return (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : 0
        }
        var total: Int64 = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            var child = stat()
            if lstat(path + "/" + relative, &child) == 0, (child.st_mode & S_IFMT) == S_IFREG {
                total += Int64(child.st_size)
            }
        }
        return total
    }

    /// True when `path` is a folder (not a link to one).
    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The SHA-256 of a file, lowercase hex, read 1 MiB at a time.
    static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CacheFileError(path: path, errno: errno)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        } catch {
            throw CacheFileError(path: path, error)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Removes `path` when it exists.
    static func remove(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw CacheFileError(path: path, error)
        }
    }

    private static func names(in directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()
}
