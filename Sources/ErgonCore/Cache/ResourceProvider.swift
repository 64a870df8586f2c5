import Foundation

/// One of a task's resources, ready on the agent's disk and held for the task.
public struct PreparedResource: Codable, Equatable, Sendable {
    /// Its position in the task's `resources`.
    public var index: Int
    public var resource: TaskResource
    /// The file, or the folder for an unpacked archive or an S3 prefix, on the agent's disk.
    public var path: String
    /// Bytes on disk.
    public var size: Int64
    public var isFolder: Bool
    /// What the worker API answers it as (`application/zstd` for a `.tar.zst`).
    public var contentType: String
    /// False when it was fetched into the task's own folder (`cache: false`).
    public var cached: Bool

    public init(index: Int, resource: TaskResource, path: String, size: Int64, isFolder: Bool, contentType: String, cached: Bool) {
        self.index = index
        self.resource = resource
        self.path = path
        self.size = size
        self.isFolder = isFolder
        self.contentType = contentType
        self.cached = cached
    }
}

/// Why a resource could not be made ready. The message names the resource.
public struct ResourceError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Larger than the whole cache (`cache.max_size`): retrying cannot help.
        case tooLarge
        /// The bytes do not match the task's `sha256`.
        case checksumMismatch
        /// The source refused it for good (404, 403, no such bucket or key, bad URL).
        case unavailable
        /// The archive could not be unpacked.
        case unpackFailed
        /// Entries in use or pinned leave no room for it now.
        case cacheFull
        /// A network or server failure that a later attempt may not meet.
        case fetchFailed
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    /// True when another attempt would fail the same way: the task fails instead of retrying.
    public var isPermanent: Bool {
        switch kind {
        case .tooLarge, .checksumMismatch, .unavailable, .unpackFailed: return true
        case .cacheFull, .fetchFailed: return false
        }
    }
    public var description: String { message }
}

/// Makes a task's resources ready before it starts and holds them while it runs, so the
/// cache never evicts what a running task uses. Holds survive an agent restart.
public protocol ResourceProvider: Sendable {
    /// Fetches (or finds in the cache) every resource of `task` and holds them for it until
    /// `release`. With `useCache` false they are fetched into `privateDirectory` instead.
    /// With `keepArchives` archives stay packed whatever `unpack` says (vast mode: the worker
    /// unpacks). Throws ``ResourceError``.
    func acquire(
        _ resources: [TaskResource], taskID: UUID, useCache: Bool, keepArchives: Bool, privateDirectory: String
    ) async throws -> [PreparedResource]

    /// What is held for the task; empty when nothing.
    func held(taskID: UUID) async -> [PreparedResource]

    /// Ends the task's hold (and removes a private copy). Releasing twice is harmless.
    func release(taskID: UUID) async

    /// The tasks holding resources now (also holds recorded before a restart).
    func holders() async -> Set<UUID>
}
