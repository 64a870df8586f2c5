import ErgonCore
import Foundation

/// What `entries/<key>/entry.json` says of a complete entry. It is written last, so an entry
/// without it is never complete.
struct CacheEntryRecord: Codable, Equatable, Sendable {
    var source: ResourceSource
    /// Bytes on disk of `content`.
    var size: Int64
    /// The SHA-256 of the downloaded bytes (the archive when unpacked); nil for an S3 prefix.
    var sha256: String?
    var contentType: String
    var created: Date
    var lastUsed: Date
    var isFolder: Bool
}

/// What `leases/<task id>.json` holds: the resources a task holds, and where its private
/// copies are.
struct CacheLease: Codable, Equatable, Sendable {
    var taskID: UUID
    var resources: [PreparedResource]
    /// The cache entries it holds (the keys of its cached resources).
    var keys: [String]
    /// The folder of its `cache: false` copies, removed on release.
    var privateDirectory: String?
}

/// One complete entry of the resource cache, as `ergon cache list` shows it.
public struct CacheEntryInfo: Equatable, Sendable {
    /// The entry's name (``ResourceSource/cacheKey``).
    public var key: String
    public var source: ResourceSource
    /// Bytes on disk.
    public var size: Int64
    public var lastUsed: Date
    public var created: Date
    /// Listed in `cache.required.resources`: never evicted.
    public var pinned: Bool
    /// The tasks holding it now; never evicted while not empty.
    public var inUse: Set<UUID>
    /// An unpacked archive or an S3 prefix.
    public var isFolder: Bool
    /// The SHA-256 of the downloaded bytes; nil for an S3 prefix.
    public var sha256: String?

    public init(
        key: String, source: ResourceSource, size: Int64, lastUsed: Date, created: Date, pinned: Bool, inUse: Set<UUID>,
        isFolder: Bool, sha256: String?
    ) {
        self.key = key
        self.source = source
        self.size = size
        self.lastUsed = lastUsed
        self.created = created
        self.pinned = pinned
        self.inUse = inUse
        self.isFolder = isFolder
        self.sha256 = sha256
    }
}

extension ResourceSource {
    /// What a worker is told the content is: the archive's type for an archive kept packed,
    /// else what the source declared.
    func contentType(declared: String?, isFolder: Bool) -> String {
        if isFolder { return "inode/directory" }
        switch archiveFormat {
        case .tarZstd: return "application/zstd"
        case .tarGzip: return "application/gzip"
        case .tar: return "application/x-tar"
        case nil: return declared ?? "application/octet-stream"
        }
    }
}
