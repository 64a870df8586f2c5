import ErgonCore
import Foundation

/// The cache's rules on what goes, as pure functions of what is on disk: no IO, no clock.
struct CachePolicy: Sendable {
    var maxSize: Int64
    var purgeUnusedAfter: Duration

    /// A complete entry as the rules see it.
    struct Candidate: Equatable, Sendable {
        var key: String
        var size: Int64
        var lastUsed: Date
        /// Held by a task or pinned: never removed.
        var kept: Bool
    }

    /// The removable entries unused for longer than `purgeUnusedAfter` at `now`.
    func expired(_ entries: [Candidate], now: Date) -> [String] {
        let ttl = purgeUnusedAfter.seconds
        return entries.filter { !$0.kept && now.timeIntervalSince($0.lastUsed) > ttl }.map(\.key)
    }

    /// The least recently used removable entries to remove so that what stays, plus `reserved`
    /// (downloads in progress) and `needed`, fits in `maxSize`; `fits` is false when removing
    /// every removable entry (all of `keys` then) is not enough.
    func evictions(_ entries: [Candidate], reserved: Int64, needed: Int64) -> (keys: [String], fits: Bool) {
        var total = entries.reduce(reserved + needed) { $0 + $1.size }
        var keys: [String] = []
        for entry in entries.filter({ !$0.kept }).sorted(by: { $0.lastUsed < $1.lastUsed }) {
            guard total > maxSize else { break }
            keys.append(entry.key)
            total -= entry.size
        }
        return (keys, total <= maxSize)
    }
}

/// What a policy run or a prune removed.
public struct CachePolicyReport: Equatable, Sendable {
    /// Why an entry was removed.
    public enum Reason: String, Equatable, Sendable {
        case unusedPastTTL = "unused past TTL"
        case overMaxSize = "over max size"
        /// `ergon cache prune --all`.
        case pruned = "pruned"
    }

    /// One removed entry.
    public struct Removal: Equatable, Sendable {
        public var key: String
        public var source: ResourceSource
        public var size: Int64
        public var reason: Reason
    }

    public var removed: [Removal] = []
    /// Files of unfinished or interrupted downloads that were removed.
    public var leftovers: [String] = []
    /// Bytes freed, leftovers included.
    public var bytesFreed: Int64 = 0

    public init() {}
}

extension ResourceError {
    /// The resource alone is larger than the whole cache.
    static func tooLarge(_ source: ResourceSource, size: Int64, maxSize: Int64) -> ResourceError {
        ResourceError(
            .tooLarge,
            "\(source.shownURL) is \(ByteSizeParser.format(size)), larger than the whole cache (cache.max_size "
                + "\(ByteSizeParser.format(maxSize))): raise cache.max_size, or set `cache: false` on the task to fetch it "
                + "into the task's own folder")
    }

    /// Entries that may not go leave no room for the resource now.
    static func cacheFull(
        _ source: ResourceSource, size: Int64, maxSize: Int64, inUse: Int64, pinned: Int64, downloading: Int64
    ) -> ResourceError {
        var held = "\(ByteSizeParser.format(inUse)) held by running tasks, \(ByteSizeParser.format(pinned)) pinned by cache.required.resources"
        if downloading > 0 { held += ", \(ByteSizeParser.format(downloading)) being downloaded" }
        return ResourceError(
            .cacheFull,
            "no room for \(source.shownURL) (\(ByteSizeParser.format(size))) in the cache (cache.max_size "
                + "\(ByteSizeParser.format(maxSize))): \(held); it is tried again when tasks end, or raise cache.max_size")
    }

    /// The downloaded bytes are not the ones the task names.
    static func checksumMismatch(_ source: ResourceSource, expected: String, actual: String) -> ResourceError {
        ResourceError(
            .checksumMismatch,
            "\(source.shownURL): the download's sha256 is \(actual), the task expects \(expected); fix the task's sha256 "
                + "or the file at the source")
    }
}
