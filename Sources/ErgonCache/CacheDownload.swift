import ErgonCore
import Foundation
import Logging

/// Fetches one resource, checks it and puts it in place: the part of the cache's work that
/// touches no shared state, so it runs off the cache's actor.
struct CacheDownload: Sendable {
    let fetcher: any ResourceFetcher
    /// Unpacks an archive into a folder (`ArchiveUnpacker.unpack(_:format:into:)` in the agent).
    let unpack: @Sendable (String, ArchiveFormat, String) async throws -> Void
    let logger: Logger

    /// What landed at the destination.
    struct Placed: Sendable {
        var size: Int64
        /// The SHA-256 of the downloaded bytes; nil for a folder (an S3 prefix).
        var sha256: String?
        var contentType: String
        var isFolder: Bool
    }

    /// Downloads `source` into the cache as the complete entry `key`, holding the key's lock so
    /// no other process writes or prunes it meanwhile. Returns the entry another process
    /// completed while this one waited for the lock, if any.
    @concurrent
    func fill(
        _ key: String, source: ResourceSource, layout: CacheLayout, now: @Sendable () -> Date, replacing: Bool,
        admit: @Sendable (Int64?) async throws -> Void, verify: @escaping @Sendable (String) async throws -> Void
    ) async throws -> CacheEntryRecord {
        try await CacheKeyLock.waiting(
            layout.lock(key),
            onWait: { logger.info("waiting for another process downloading \(source.kind.rawValue) \(source.shownURL)") }
        ) {
            // A stale entry stays until its replacement is verified (`run` removes it then).
            if !replacing, let record = layout.readRecord(key) { return record }
            let placed: Placed
            do {
                // A stale entry goes once its replacement's digest checked out, record first, so
                // no moment shows the old record over the new content.
                let checked: @Sendable (String) async throws -> Void = { actual in
                    try await verify(actual)
                    if replacing, FileManager.default.fileExists(atPath: layout.entryDirectory(key)) { try layout.removeEntry(key) }
                }
                placed = try await run(
                    source, partial: layout.partial(key), destination: layout.content(key), admit: admit, verify: checked)
            } catch {
                layout.tidy(key)
                throw error
            }
            let created = now()
            let record = CacheEntryRecord(
                source: source, size: placed.size, sha256: placed.sha256, contentType: placed.contentType, created: created,
                lastUsed: created, isFolder: placed.isFolder)
            try layout.writeRecord(record, key: key)
            return record
        }
    }

    /// Fetches `source` into `partial` (the fetcher continues what an earlier try left there),
    /// checks it, and moves it to `destination`, unpacked when `source.unpack`. `admit` is told
    /// the size the source announces before any byte is written, then the real size on disk;
    /// it throws to refuse it. `verify` is given the file's SHA-256 and throws to refuse it
    /// (by default: unless it is `source.sha256`). A refused, corrupt or unpackable download
    /// leaves nothing behind; any other failure leaves `partial` for the next try.
    @concurrent
    func run(
        _ source: ResourceSource, partial: String, destination: String, admit: @Sendable (Int64?) async throws -> Void,
        verify: (@Sendable (String) async throws -> Void)? = nil
    ) async throws -> Placed {
        let verify = verify ?? { actual in
            if let expected = source.sha256?.lowercased(), expected != actual {
                throw ResourceError.checksumMismatch(source, expected: expected, actual: actual)
            }
        }
        do {
            return try await fetchAndPlace(source, partial: partial, destination: destination, admit: admit, verify: verify)
        } catch {
            let translated = ResourceError.translating(error, preparing: source)
            if let failure = translated as? ResourceError, failure.isPermanent {
                try? CacheLayout.remove(partial)
                try? CacheLayout.remove(Self.staging(destination))
            }
            throw translated
        }
    }

    private func fetchAndPlace(
        _ source: ResourceSource, partial: String, destination: String, admit: @Sendable (Int64?) async throws -> Void,
        verify: @Sendable (String) async throws -> Void
    ) async throws -> Placed {
        let started = ContinuousClock.now
        logger.info("downloading \(source.kind.rawValue) \(source.shownURL)")
        let fetched = try await fetcher.fetch(source, to: partial, announceSize: admit)
        var isFolder = CacheLayout.isFolder(partial)
        let downloaded = CacheLayout.diskSize(partial)
        try await admit(downloaded)
        var sha256: String?
        if !isFolder {
            let actual = try CacheLayout.sha256(ofFile: partial)
            try await verify(actual)
            sha256 = actual
        }
        let parent = (destination as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw CacheFileError(path: parent, error)
        }
        try CacheLayout.remove(destination)
        if source.unpack && !isFolder {
            let staging = Self.staging(destination)
            try await unpackArchive(source, archive: partial, into: staging)
            try await admit(CacheLayout.diskSize(staging))
            try Self.rename(staging, to: destination)
            try CacheLayout.remove(partial)
            isFolder = true
        } else {
            try Self.rename(partial, to: destination)
        }
        let size = CacheLayout.diskSize(destination)
        var summary = ByteSizeParser.format(downloaded)
        if isFolder && size != downloaded { summary += " (\(ByteSizeParser.format(size)) unpacked)" }
        let seconds = String(format: "%.1f", (ContinuousClock.now - started).seconds)
        logger.info("downloaded \(source.kind.rawValue) \(source.shownURL): \(summary) in \(seconds) s")
        return Placed(
            size: size, sha256: sha256, contentType: source.contentType(declared: fetched.contentType, isFolder: isFolder),
            isFolder: isFolder)
    }

    /// Unpacks `archive` into the fresh folder `staging`.
    private func unpackArchive(_ source: ResourceSource, archive: String, into staging: String) async throws {
        guard let format = source.archiveFormat else {
            throw ResourceError(
                .unpackFailed,
                "\(source.shownURL): `unpack: true` but the URL does not end in .tar, .tar.gz (.tgz) or .tar.zst (.tzst); "
                    + "remove `unpack` or name the archive's format in the URL")
        }
        try CacheLayout.remove(staging)
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw CacheFileError(path: staging, error)
        }
        do {
            try await unpack(archive, format, staging)
        } catch is CancellationError {
            try? CacheLayout.remove(staging)
            throw CancellationError()
        } catch let error as ResourceError {
            // The unpacker names the cache's file; the task's reason names the resource.
            throw ResourceError(error.kind, "\(source.shownURL): \(error.message)")
        } catch {
            throw ResourceError(.unpackFailed, "\(source.shownURL): cannot unpack the .\(format.rawValue) archive: \(error)")
        }
    }

    /// Where an archive is unpacked before it is renamed to `destination`.
    static func staging(_ destination: String) -> String { destination + ".unpacking" }

    private static func rename(_ source: String, to destination: String) throws {
        do {
            try DurableFile.rename(source, to: destination)
        } catch {
            throw CacheFileError(path: destination, error)
        }
    }
}

extension ResourceError {
    /// `error` as the cache reports it: resource errors and cancellation unchanged, a file
    /// operation's failure or anything unexpected as `.fetchFailed` naming the path and the resource.
    static func translating(_ error: any Error, preparing source: ResourceSource?) -> any Error {
        let preparing = source.map { " (while preparing \($0.shownURL))" } ?? ""
        switch error {
        case is ResourceError, is CancellationError:
            return error
        case let error as CacheFileError:
            return ResourceError(.fetchFailed, "\(error.path): \(error.reason)\(preparing)")
        default:
            return ResourceError(.fetchFailed, "\(source?.shownURL ?? "resource cache"): \(error)")
        }
    }
}
