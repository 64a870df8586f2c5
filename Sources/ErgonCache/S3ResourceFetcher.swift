import ErgonCore
import ErgonS3
import Foundation
import Logging

/// Downloads `S3` resources with the agent's S3 client: `s3://BUCKET/KEY` as one file, and
/// `s3://BUCKET/PREFIX/` as a folder holding every object under the prefix (the key below the
/// prefix as relative path).
///
/// Objects stream to their files. A file already holding part of its object is continued with a
/// ranged GET (sizes come from a HEAD or the listing first, so a complete file costs no GET); one
/// longer than its object starts over. Missing buckets and keys, refused credentials, other 4xx
/// refusals and an empty prefix are `.unavailable`; the rest is `.fetchFailed`.
public struct S3ResourceFetcher: ResourceFetcher {
    /// The client, with the agent's endpoint, credentials and retry policy.
    public let client: S3Client
    let logger: Logger
    /// Keys per listing page (S3 gives at most 1000).
    let listPageSize: Int

    /// A fetcher reading through `client`.
    public init(client: S3Client, logger: Logger, listPageSize: Int = 1000) {
        self.client = client
        self.logger = logger
        self.listPageSize = listPageSize
    }

    public func fetch(
        _ source: ResourceSource, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        let name = source.description
        guard source.kind == .s3, let location = Location(source.url) else {
            throw ResourceError(.unavailable, "\(name): not s3://BUCKET/KEY or s3://BUCKET/PREFIX/")
        }
        do {
            if source.isS3Prefix {
                return try await fetchFolder(location, name: name, to: destination, announceSize: announceSize)
            }
            guard !location.key.isEmpty else {
                throw ResourceError(.unavailable, "\(name): names no object (s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for a folder)")
            }
            return try await fetchObject(location, name: name, to: destination, announceSize: announceSize)
        } catch let error as S3Error {
            throw Self.resourceError(error, name: name)
        }
    }

    /// A bucket and a key (or prefix) from `s3://BUCKET/KEY`.
    struct Location: Equatable {
        var bucket: String
        var key: String
    }

    // MARK: - One object

    private func fetchObject(
        _ location: Location, name: String, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        let file = try DownloadedFile(path: destination, resource: name)
        var expected: Int64?
        if file.size > 0 {
            // The size first: a complete file needs no GET, and S3 answers a range past the end
            // with an error rather than with the size.
            guard let details = try await client.objectDetails(bucket: location.bucket, key: location.key) else {
                throw ResourceError(.unavailable, "\(name): no such object")
            }
            if details.size == file.size {
                logger.debug("\(name) was already complete (\(details.size) bytes)")
                try await announceSize(details.size)
                try file.sync()
                return FetchedContent(contentType: details.contentType, bytes: details.size)
            }
            expected = details.size
        }
        var contentType: String?
        try await download(location.key, in: location.bucket, name: name, into: file, expected: expected) { total in
            try await announceSize(total)
        } answered: { contentType = $0 }
        try file.sync()
        return FetchedContent(contentType: contentType, bytes: file.size)
    }

    /// GETs the object into `file` (continuing it when it is shorter than `expected`, the size a
    /// HEAD or listing gave), calling `announce` with the size before writing.
    private func download(
        _ key: String, in bucket: String, name: String, into file: DownloadedFile, expected: Int64?,
        announce: (Int64?) async throws -> Void, answered: (String?) -> Void = { _ in }
    ) async throws {
        let offset = expected.map { file.size < $0 ? file.size : 0 } ?? 0
        do {
            try await client.withObjectRead(bucket: bucket, key: key, from: offset) { read in
                let decision = ResumeDecision(
                    status: read.status, contentLength: read.headers.first(name: "content-length").flatMap { Int64($0) },
                    contentRange: read.headers.first(name: "content-range"), requestedOffset: offset)
                guard case .write(let kept, let total) = decision else {
                    throw ResourceError(.fetchFailed, "\(name): S3 answered HTTP \(read.status) to a GET from byte \(offset)")
                }
                if let expected, let total, total != expected {
                    throw ResourceError(.fetchFailed, "\(name): \(key) changed while it was fetched (\(expected) bytes, now \(total))")
                }
                if kept > 0 { logger.debug("continuing \(name) (\(key)) after \(kept) bytes") }
                try await announce(total)
                answered(read.headers.first(name: "content-type"))
                try file.keep(first: kept)
                try await file.append(read.body, until: total)
            }
        } catch let error as S3Error where error.status == 416 {
            throw ResourceError(.fetchFailed, "\(name): \(key) changed while it was fetched (it is now shorter than \(offset) bytes)")
        }
    }

    // MARK: - A folder

    private func fetchFolder(
        _ location: Location, name: String, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        let listed = try await client.listObjects(bucket: location.bucket, prefix: location.key, pageSize: listPageSize)
        // Keys ending in "/" are the folder markers consoles create, not files.
        let objects = listed.filter { !$0.key.hasSuffix("/") }
        guard !objects.isEmpty else {
            throw ResourceError(.unavailable, "\(name): no objects under the prefix")
        }
        var files: [(object: S3ObjectInfo, path: String)] = []
        for object in objects {
            let relative = String(object.key.dropFirst(location.key.count))
            let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw ResourceError(.unavailable, "\(name): the key \"\(object.key)\" cannot be a file below the folder")
            }
            files.append((object, relative))
        }
        let total = objects.reduce(Int64(0)) { $0 + $1.size }
        try await announceSize(total)
        try removeStrayFiles(in: destination, keeping: Set(files.map(\.path)), name: name)
        for (object, relative) in files {
            let path = destination + "/" + relative
            try createFolder((path as NSString).deletingLastPathComponent, name: name)
            let file = try DownloadedFile(path: path, resource: name)
            if file.size != object.size || object.size == 0 {
                if file.size > object.size { try file.keep(first: 0) }
                if object.size > 0 {
                    try await download(object.key, in: location.bucket, name: name, into: file, expected: object.size) { _ in }
                }
            }
            try file.sync()
        }
        return FetchedContent(contentType: nil, bytes: total)
    }

    /// Removes the files an earlier try left that are no longer objects under the prefix, so the
    /// folder holds exactly the listing.
    private func removeStrayFiles(in folder: String, keeping kept: Set<String>, name: String) throws {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        while let relative = walker.nextObject() as? String {
            let path = folder + "/" + relative
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue, !kept.contains(relative)
            else { continue }
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw ResourceError(.fetchFailed, "\(name): cannot remove \(path), left by an earlier try: \(error)")
            }
        }
    }

    private func createFolder(_ path: String, name: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ResourceError(.fetchFailed, "\(name): cannot create the folder \(path): \(error)")
        }
    }

    /// A client error as a resource error: refusals that resending cannot change are `.unavailable`.
    static func resourceError(_ error: S3Error, name: String) -> ResourceError {
        switch error.kind {
        case .noSuchKey, .noSuchBucket, .authentication, .rejected:
            return ResourceError(.unavailable, "\(name): \(error)")
        case .noSuchUpload, .slowDown, .server, .malformed, .timeout, .transport:
            return ResourceError(.fetchFailed, "\(name): \(error)")
        }
    }
}

extension S3ResourceFetcher.Location {
    /// Parses `s3://BUCKET/KEY`; nil without the scheme or a bucket. The key may be empty.
    init?(_ url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        self.bucket = String(bucket)
        self.key = String(rest.dropFirst(bucket.count + 1))
    }
}
