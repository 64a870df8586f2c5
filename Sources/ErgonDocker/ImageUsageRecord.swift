import ErgonCore
import Foundation
import Logging

/// Which images the agent pulled and when each was last used, kept in `<cache dir>/images.json`
/// so the image TTL survives restarts. An actor: launches and the purge update it concurrently.
///
/// The file is advisory: a missing one is an empty record, a corrupt one is logged and replaced
/// by the next write, and a failed write is logged without failing the launch that made it.
public actor ImageUsageRecord {
    /// What the agent knows of one image.
    public struct Entry: Codable, Equatable, Sendable {
        /// True when the agent brought the image onto the engine; only such images are ever removed.
        public var pulledByAgent: Bool
        /// The last launch (or pre-pull) that used the image.
        public var lastUsed: Date
        /// The agent's last successful pull of it.
        public var pulledAt: Date?
        /// A required image (`cache.required.images`), never removed.
        public var pinned: Bool

        /// An entry as the record stores it.
        public init(pulledByAgent: Bool, lastUsed: Date, pulledAt: Date? = nil, pinned: Bool = false) {
            self.pulledByAgent = pulledByAgent
            self.lastUsed = lastUsed
            self.pulledAt = pulledAt
            self.pinned = pinned
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            pulledByAgent = try container.decode(Bool.self, forKey: .pulledByAgent)
            lastUsed = try container.decode(Date.self, forKey: .lastUsed)
            pulledAt = try container.decodeIfPresent(Date.self, forKey: .pulledAt)
            pinned = try container.decodeIfPresent(Bool.self, forKey: .pinned) ?? false
        }
    }

    /// How a launch came to use an image.
    public enum Use: Equatable, Sendable {
        /// The engine's copy was used as it was.
        case local
        /// The agent pulled it; `wasPresent` says whether the engine already had a copy of that name
        /// (then the image is not the agent's unless the agent had brought it earlier).
        case pulled(wasPresent: Bool)
    }

    /// The file's shape.
    struct File: Codable {
        static let currentVersion = 1
        var version: Int
        var images: [String: Entry]
    }

    /// The JSON file, or nil for a record kept in memory only.
    public nonisolated let path: String?
    private let logger: Logger
    /// nil until first read from `path`.
    private var loaded: [String: Entry]?

    /// A record kept in `path` (read on first use), or in memory only when `path` is nil.
    public init(path: String?, logger: Logger = Logger(label: "ergon.docker")) {
        self.path = path
        self.logger = logger
        self.loaded = path == nil ? [:] : nil
    }

    /// The record of an agent whose cache folder is `cacheDirectory` (`<cacheDirectory>/images.json`).
    public init(cacheDirectory: String, logger: Logger = Logger(label: "ergon.docker")) {
        self.init(path: (cacheDirectory as NSString).appendingPathComponent("images.json"), logger: logger)
    }

    /// The one spelling of an image in the record: `ubuntu`, `ubuntu:latest` and
    /// `docker.io/library/ubuntu:latest` are the same image. Unparsable names stay as written.
    public static func key(_ image: String) -> String {
        ImageReference.canonical(image)
    }

    /// Every entry, by ``key(_:)``.
    public func entries() -> [String: Entry] {
        current()
    }

    /// The entry of `image`, if the record has one.
    public func entry(for image: String) -> Entry? {
        current()[Self.key(image)]
    }

    /// Notes that a launch (or pre-pull) used `image` at `date`.
    public func recordUse(of image: String, _ use: Use, at date: Date) {
        var entries = current()
        let key = Self.key(image)
        let old = entries[key]
        var entry = Entry(
            pulledByAgent: old?.pulledByAgent ?? false, lastUsed: date, pulledAt: old?.pulledAt, pinned: old?.pinned ?? false)
        if case .pulled(let wasPresent) = use {
            entry.pulledAt = date
            if !wasPresent { entry.pulledByAgent = true }
        }
        entries[key] = entry
        store(entries)
    }

    /// Pins exactly `images` (the configured required images) and unpins every other entry, so an
    /// image dropped from `cache.required.images` becomes removable again. Images without an entry
    /// are skipped: they have not been used yet.
    public func pin(only images: [String]) {
        let keys = Set(images.map(Self.key))
        var entries = current()
        for (key, entry) in entries where entry.pinned != keys.contains(key) {
            entries[key]?.pinned = keys.contains(key)
        }
        store(entries)
    }

    /// Forgets `images` (removed from the engine).
    public func forget(_ images: [String]) {
        var entries = current()
        for image in images {
            entries[Self.key(image)] = nil
        }
        store(entries)
    }

    /// The images the purge may remove: pulled by the agent, not pinned, not required, and unused
    /// for longer than `ttl` before `now`. Sorted, so purges go in a stable order.
    public static func removable(
        _ entries: [String: Entry], olderThan ttl: Duration, now: Date, required: [String]
    ) -> [String] {
        let required = Set(required.map(key))
        let cutoff = now.addingTimeInterval(-ttl.seconds)
        return entries.filter { key, entry in
            entry.pulledByAgent && !entry.pinned && !required.contains(key) && entry.lastUsed < cutoff
        }.keys.sorted()
    }

    /// ``removable(_:olderThan:now:required:)`` over this record.
    public func removable(olderThan ttl: Duration, now: Date, required: [String]) -> [String] {
        Self.removable(current(), olderThan: ttl, now: now, required: required)
    }

    // MARK: - The file

    private func current() -> [String: Entry] {
        if let loaded { return loaded }
        let entries = path.map(read) ?? [:]
        loaded = entries
        return entries
    }

    /// Reads the file; a missing file is empty, an unreadable one is logged and started afresh.
    private func read(_ path: String) -> [String: Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            logger.error(
                "cannot read the image record; starting afresh (images pulled before are kept until used again)",
                metadata: ["path": "\(path)", "error": "\(error)"])
            return [:]
        }
        do {
            let file = try Self.decoder.decode(File.self, from: data)
            guard file.version == File.currentVersion else {
                throw ImageRecordVersionError(version: file.version)
            }
            return file.images
        } catch {
            logger.error(
                "the image record is corrupt; starting afresh (the next launch rewrites it)",
                metadata: ["path": "\(path)", "error": "\(error)"])
            return [:]
        }
    }

    private func store(_ entries: [String: Entry]) {
        loaded = entries
        guard let path else { return }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try DurableFile.write(try Self.encoder.encode(File(version: File.currentVersion, images: entries)), to: path)
        } catch {
            logger.error(
                "cannot write the image record; image use is kept in memory only (check cache.dir is writable)",
                metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A record written by a newer agent, read as corrupt.
struct ImageRecordVersionError: Error, CustomStringConvertible {
    var version: Int
    var description: String { "unknown record version \(version) (this agent writes \(ImageUsageRecord.File.currentVersion))" }
}
