import ErgonCore
import Foundation

/// What the agent's policy runs, `ergon cache list`/`prune` and the agent's start do.
extension ResourceCache {
    /// Every complete entry, most recently used first.
    public func entries() -> [CacheEntryInfo] {
        let state = snapshot()
        return state.entries.map { key, entry in
            CacheEntryInfo(
                key: key, source: entry.source, size: entry.size, lastUsed: entry.lastUsed, created: entry.created,
                pinned: pinnedKeys.contains(key), inUse: state.users[key] ?? [], isFolder: entry.isFolder, sha256: entry.sha256)
        }.sorted { $0.lastUsed > $1.lastUsed }
    }

    /// Removes the files of interrupted downloads untouched for longer than
    /// `cache.purge_unused_after` (younger ones are kept for the next try to resume), the
    /// entries unused for that long, then the least recently used ones while the cache is over
    /// `cache.max_size`. An entry held by a task or pinned is never removed.
    public func enforcePolicy() -> CachePolicyReport {
        var report = CachePolicyReport()
        removeLeftovers(olderThan: now().addingTimeInterval(-policy.purgeUnusedAfter.seconds), into: &report)
        evict(policy.expired(snapshot().candidates, now: now()), reason: .unusedPastTTL, into: &report)
        let overflow = policy.evictions(snapshot().candidates, reserved: reservations.values.reduce(0, +), needed: 0)
        evict(overflow.keys, reason: .overMaxSize, into: &report)
        return report
    }

    /// `ergon cache prune`: the policy, or with `all` every entry no task holds and not pinned,
    /// and the files of interrupted downloads.
    public func prune(all: Bool) -> CachePolicyReport {
        guard all else { return enforcePolicy() }
        var report = CachePolicyReport()
        removeLeftovers(olderThan: nil, into: &report)
        evict(snapshot().candidates.filter { !$0.kept }.map(\.key), reason: .pruned, into: &report)
        return report
    }

    /// Fetches the pinned resources (`cache.required.resources`) that are not cached yet, so
    /// they are ready when tasks start. Returns each with its error, nil when it is ready.
    public func prewarm() async -> [(ResourceSource, (any Error)?)] {
        var outcomes: [(ResourceSource, (any Error)?)] = []
        for source in pinned {
            do {
                try layout.createDirectories()
                try await entry(for: source) { _, _ in }
                outcomes.append((source, nil))
            } catch {
                let failure = ResourceError.translating(error, preparing: source)
                logger.warning("cache.required.resources: \(source.shownURL) is not ready: \(failure)")
                outcomes.append((source, failure))
            }
        }
        return outcomes
    }

    // MARK: Making room

    /// What is on disk now, leases included (another process may have changed them).
    struct Snapshot {
        var entries: [String: CacheEntryRecord]
        /// The tasks holding each key.
        var users: [String: Set<UUID>]
        var pinned: Set<String>

        var candidates: [CachePolicy.Candidate] {
            entries.map { key, entry in
                CachePolicy.Candidate(
                    key: key, size: entry.size, lastUsed: entry.lastUsed, kept: pinned.contains(key) || users[key] != nil)
            }
        }
    }

    func snapshot() -> Snapshot {
        Snapshot(entries: layout.completeEntries(), users: layout.holdersByKey(), pinned: pinnedKeys)
    }

    /// Evicts least recently used entries until `needed` more bytes fit; throws `.cacheFull`
    /// when held and pinned entries leave no room.
    func makeRoom(_ needed: Int64, for source: ResourceSource) throws {
        let reserved = reservations.values.reduce(0, +)
        let plan = policy.evictions(snapshot().candidates, reserved: reserved, needed: needed)
        if plan.fits {
            var report = CachePolicyReport()
            evict(plan.keys, reason: .overMaxSize, making: source, into: &report)
        }
        // Checked again: an entry another process was using may not have gone.
        let state = snapshot()
        let used = state.entries.values.reduce(reserved) { $0 + $1.size }
        guard used + needed > policy.maxSize else { return }
        let held = state.entries.filter { state.users[$0.key] != nil }.values.reduce(0) { $0 + $1.size }
        let pinned = state.entries.filter { state.users[$0.key] == nil && pinnedKeys.contains($0.key) }.values.reduce(0) { $0 + $1.size }
        throw ResourceError.cacheFull(
            source, size: needed, maxSize: policy.maxSize, inUse: held, pinned: pinned, downloading: reserved)
    }

    /// Removes each entry of `keys` that is still complete, unheld and unpinned, checked under
    /// its lock against the leases on disk.
    func evict(
        _ keys: [String], reason: CachePolicyReport.Reason, making source: ResourceSource? = nil,
        into report: inout CachePolicyReport
    ) {
        for key in keys {
            do {
                let removed = try CacheKeyLock.ifFree(layout.lock(key)) { () -> CacheEntryRecord? in
                    guard let entry = layout.readRecord(key), !pinnedKeys.contains(key), layout.holdersByKey()[key] == nil else {
                        return nil
                    }
                    try layout.removeEntry(key)
                    try CacheLayout.remove(layout.lock(key))
                    return entry
                }
                guard let entry = removed ?? nil else { continue }
                report.removed.append(.init(key: key, source: entry.source, size: entry.size, reason: reason))
                report.bytesFreed += entry.size
                let why = source.map { "to make room for \($0.shownURL)" } ?? reason.rawValue
                logger.info(
                    "evicted \(entry.source.kind.rawValue) \(entry.source.shownURL) (\(ByteSizeParser.format(entry.size)), last used \(entry.lastUsed)): \(why)")
            } catch {
                logger.warning("could not evict cache entry \(key): \(error)")
            }
        }
    }

    /// Removes what interrupted downloads left, except for keys being downloaded (here, or in
    /// another process: their lock is taken) and, with `cutoff`, files modified after it.
    func removeLeftovers(olderThan cutoff: Date?, into report: inout CachePolicyReport) {
        for (key, paths) in layout.leftovers() where flights[key] == nil {
            if let cutoff, paths.contains(where: { Self.modified($0).map { $0 > cutoff } ?? false }) { continue }
            do {
                let freed = try CacheKeyLock.ifFree(layout.lock(key)) { () -> [(String, Int64)] in
                    var freed: [(String, Int64)] = []
                    for path in paths {
                        let size = CacheLayout.diskSize(path)
                        try CacheLayout.remove(path)
                        freed.append((path, size))
                    }
                    if layout.readRecord(key) == nil { try CacheLayout.remove(layout.lock(key)) }
                    return freed
                }
                // A lock file is no download of its own: not reported.
                for (path, size) in freed ?? [] where !path.hasPrefix(layout.locksDirectory + "/") {
                    report.leftovers.append(path)
                    report.bytesFreed += size
                    logger.info("removed \(path) (\(ByteSizeParser.format(size))), left by an interrupted download")
                }
            } catch {
                logger.warning("could not remove what a download of cache entry \(key) left: \(error)")
            }
        }
    }

    /// When the file or folder at `path` last changed.
    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
