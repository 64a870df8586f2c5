import ErgonCore
import Foundation
import Logging

/// The agent's on-disk resource cache: each resource is downloaded once, kept under its
/// ``ResourceSource/cacheKey`` and shared by every task naming it; a task's lease keeps what it
/// uses from eviction, across restarts too. See ``CacheLayout`` for the files.
///
/// Concurrent acquires of one resource in this process share one download. Every change to a
/// key's files happens under the key's lock (``CacheKeyLock``), and leases are read from disk
/// before any eviction, so an `ergon cache prune` in another process never removes what the
/// agent is writing or holds.
public actor ResourceCache: ResourceProvider {
    let layout: CacheLayout
    let policy: CachePolicy
    /// `cache.required.resources`: fetched by ``prewarm()`` and never evicted.
    let pinned: [ResourceSource]
    let pinnedKeys: Set<String>
    let download: CacheDownload
    let logger: Logger
    let now: @Sendable () -> Date

    /// A download in progress, shared by every acquire of its key.
    struct Flight {
        let id: UUID
        let task: Task<CacheEntryRecord, any Error>
        /// Acquires waiting for it; when the last is cancelled the download is cancelled too.
        var waiters: Int
    }

    var flights: [String: Flight] = [:]
    /// The digests the acquires waiting for a download expect, by key (nil: one expects none).
    /// A shared download is kept when it satisfies any of them; each acquire then checks its own.
    var expectations: [String: [String?]] = [:]
    /// Bytes admitted for downloads in progress, by key: counted as used while room is made.
    var reservations: [String: Int64] = [:]

    /// A cache in `directory`. `unpack` unpacks an archive into a folder (the agent passes
    /// `ArchiveUnpacker.unpack(_:format:into:)`); `now` is the clock of `lastUsed` and the TTL.
    public init(
        directory: String, maxSize: Int64, purgeUnusedAfter: Duration, pinned: [ResourceSource], fetcher: any ResourceFetcher,
        unpack: @escaping @Sendable (String, ArchiveFormat, String) async throws -> Void, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.layout = CacheLayout(root: directory)
        self.policy = CachePolicy(maxSize: maxSize, purgeUnusedAfter: purgeUnusedAfter)
        self.pinned = pinned
        self.pinnedKeys = Set(pinned.map(\.cacheKey))
        self.download = CacheDownload(fetcher: fetcher, unpack: unpack, logger: logger)
        self.logger = logger
        self.now = now
    }

    /// Takes each resource from the cache (downloading it once when missing or stale), or with
    /// `useCache` false fetches it into `privateDirectory/<index>`, and holds them for `taskID`.
    public func acquire(
        _ resources: [TaskResource], taskID: UUID, useCache: Bool, keepArchives: Bool, privateDirectory: String
    ) async throws -> [PreparedResource] {
        // The lease grows with each resource taken, so an eviction (here or in another process)
        // never sees a taken entry unheld, even before the last resource is ready.
        var lease = CacheLease(taskID: taskID, resources: [], keys: [], privateDirectory: useCache ? nil : privateDirectory)
        var current: ResourceSource?
        do {
            try layout.createDirectories()
            try layout.writeLease(lease)
            for (index, resource) in resources.enumerated() {
                var source = resource.source
                if keepArchives { source.unpack = false }
                current = source
                if useCache {
                    try await entry(for: source) { key, entry in
                        let prepared = PreparedResource(
                            index: index, resource: resource, path: layout.content(key), size: entry.size, isFolder: entry.isFolder,
                            contentType: entry.contentType, cached: true)
                        lease.resources.append(prepared)
                        lease.keys.append(key)
                        try layout.writeLease(lease)
                    }
                } else {
                    lease.resources.append(try await fetchPrivately(resource, source: source, index: index, into: privateDirectory))
                    try layout.writeLease(lease)
                }
            }
            return lease.resources
        } catch {
            await release(taskID: taskID)
            throw ResourceError.translating(error, preparing: current)
        }
    }

    /// What `taskID`'s lease holds, read from disk.
    public func held(taskID: UUID) async -> [PreparedResource] {
        layout.readLease(taskID)?.resources ?? []
    }

    /// Removes `taskID`'s lease and private copies, and marks its entries used now.
    public func release(taskID: UUID) async {
        let lease = layout.readLease(taskID)
        do {
            try CacheLayout.remove(layout.lease(taskID))
            if let folder = lease?.privateDirectory { try CacheLayout.remove(folder) }
        } catch {
            logger.warning("releasing the resources of task \(taskID.uuidString.lowercased()): \(error)")
        }
        for key in Set(lease?.keys ?? []) { touch(key) }
    }

    /// The tasks with a lease on disk.
    public func holders() async -> Set<UUID> {
        layout.leaseHolders()
    }

    // MARK: Entries

    /// Finds the complete entry for `source`, or downloads it (sharing a download in progress),
    /// and runs `hold` on it under its lock. An entry whose sha256 is not the one `source` names
    /// is replaced when no task holds it.
    @discardableResult
    func entry(
        for source: ResourceSource, hold: (String, CacheEntryRecord) throws -> Void
    ) async throws -> CacheEntryRecord {
        let key = source.cacheKey
        var downloaded = false
        // Another round only when another process removed the entry right after it was made.
        for _ in 0..<3 {
            if flights[key] == nil {
                switch try take(key, source: source, justDownloaded: downloaded, hold: hold) {
                case .taken(let entry): return entry
                case .missing: start(key, source: source, replacing: false)
                case .stale: start(key, source: source, replacing: true)
                }
            }
            expectations[key, default: []].append(source.sha256?.lowercased())
            try await join(key)
            downloaded = true
        }
        throw ResourceError(
            .fetchFailed,
            "\(source.shownURL): its cache entry was removed right after each of 3 downloads; is another process pruning \(layout.root)?")
    }

    /// The complete, current entry for `key`, touched and held; nil when it must be downloaded
    /// (absent, stale, or its lock taken by another process, which the download then waits for).
    /// Right after a shared download (`justDownloaded`) an entry with another digest is that
    /// download's content, which another acquire expected: this task's sha256 is wrong.
    private func take(
        _ key: String, source: ResourceSource, justDownloaded: Bool, hold: (String, CacheEntryRecord) throws -> Void
    ) throws -> Taking {
        let taken = try CacheKeyLock.ifFree(layout.lock(key)) { () -> Taking in
            guard var entry = layout.readRecord(key) else { return .missing }
            if let expected = source.sha256?.lowercased(), let recorded = entry.sha256, recorded != expected {
                if justDownloaded { throw ResourceError.checksumMismatch(source, expected: expected, actual: recorded) }
                let users = layout.holdersByKey()[key] ?? []
                guard users.isEmpty else {
                    let tasks = users.map { $0.uuidString.lowercased() }.sorted().joined(separator: ", ")
                    // Not the task's fault, and over once they end: another attempt may succeed.
                    throw ResourceError(
                        .fetchFailed,
                        "\(source.shownURL): the cached copy's sha256 is \(recorded), the task expects \(expected), and task(s) "
                            + "\(tasks) still use the cached copy; it is replaced once they end")
                }
                // Replaced only by a download that has the expected digest: a task with a wrong
                // sha256 must not cost the others a good entry.
                logger.info("fetching \(source.shownURL) again: the cached copy's sha256 \(recorded) is not the expected \(expected)")
                return .stale
            }
            entry.lastUsed = now()
            try layout.writeRecord(entry, key: key)
            try hold(key, entry)
            return .taken(entry)
        }
        return taken ?? .missing
    }

    /// What `take` found.
    private enum Taking {
        case taken(CacheEntryRecord)
        /// No complete entry, or its lock is held elsewhere (the download waits for it).
        case missing
        /// An entry with another digest than the task's, which no task holds.
        case stale
    }

    /// Starts the download of `key`, shared by every acquire that joins it.
    private func start(_ key: String, source: ResourceSource, replacing: Bool) {
        let download = self.download
        let layout = self.layout
        let now = self.now
        let task = Task {
            try await download.fill(
                key, source: source, layout: layout, now: now, replacing: replacing,
                admit: { size in try await self.admit(size, for: key, source: source) },
                verify: { actual in try await self.verify(actual, for: key, source: source) })
        }
        flights[key] = Flight(id: UUID(), task: task, waiters: 0)
    }

    /// Waits for the download of `key` in progress and rethrows its error. A cancelled waiter
    /// cancels the download only when no other acquire waits for it.
    private func join(_ key: String) async throws {
        guard var flight = flights[key] else { return }
        flight.waiters += 1
        flights[key] = flight
        let id = flight.id
        let task = flight.task
        let result = await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            Task { await self.abandon(key, id: id) }
        }
        if flights[key]?.id == id {
            flights[key] = nil
            reservations[key] = nil
            expectations[key] = nil
        }
        // A cancelled waiter says so, whatever the download it left did.
        try Task.checkCancellation()
        _ = try result.get()
    }

    private func abandon(_ key: String, id: UUID) {
        guard var flight = flights[key], flight.id == id else { return }
        flight.waiters -= 1
        flights[key] = flight
        if flight.waiters <= 0 { flight.task.cancel() }
    }

    /// Refuses a download larger than the cache, else makes room for it and reserves it.
    /// Called with the announced size, then with the real ones.
    func admit(_ size: Int64?, for key: String, source: ResourceSource) throws {
        guard let size else { return }
        guard size <= policy.maxSize else { throw ResourceError.tooLarge(source, size: size, maxSize: policy.maxSize) }
        reservations[key] = nil
        try makeRoom(size, for: source)
        reservations[key] = size
    }

    /// Keeps a shared download whose digest is `actual` when an acquire waiting for it expects
    /// that digest or none; refuses it (leaving nothing) when every one expects another.
    func verify(_ actual: String, for key: String, source: ResourceSource) throws {
        let expected = expectations[key] ?? [source.sha256?.lowercased()]
        guard !expected.contains(where: { $0 == nil || $0 == actual }) else { return }
        throw ResourceError.checksumMismatch(source, expected: expected.compactMap { $0 }.first ?? "", actual: actual)
    }

    /// Records a use of `key` now, unless another process is changing it.
    private func touch(_ key: String) {
        _ = try? CacheKeyLock.ifFree(layout.lock(key)) {
            guard var entry = layout.readRecord(key) else { return }
            entry.lastUsed = now()
            try layout.writeRecord(entry, key: key)
        }
    }

    /// A `cache: false` resource: fetched into `directory/<index>`, checked and unpacked the same
    /// way, and not shared.
    private func fetchPrivately(
        _ resource: TaskResource, source: ResourceSource, index: Int, into directory: String
    ) async throws -> PreparedResource {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CacheFileError(path: directory, error)
        }
        let destination = directory + "/\(index)"
        let placed = try await download.run(source, partial: destination + ".download", destination: destination) { _ in }
        return PreparedResource(
            index: index, resource: resource, path: destination, size: placed.size, isFolder: placed.isFolder,
            contentType: placed.contentType, cached: false)
    }
}
