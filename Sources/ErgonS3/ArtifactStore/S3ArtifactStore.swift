import ErgonCore
import Foundation
import NIOHTTP1

/// The artifact store in an S3 bucket (`artifacts.store: s3://BUCKET/PREFIX`).
///
/// Layout: `PREFIX/<workflow id>/<task id>/artifacts/<name>`, one object per artifact, stored
/// with its content type. The `artifacts/` level keeps the objects apart from the task's logs
/// (`PREFIX/<workflow id>/<task id>/<attempt>.log`) when both stores share a bucket and prefix,
/// so ``removeAll(_:)`` never touches a log.
///
/// - Writes: one streamed PUT, or a multipart upload for files over ``multipartThreshold``
///   (S3 takes at most 5 GiB in one PUT, and a failed part is resent alone). Either way the
///   object appears whole or not at all, as the protocol asks. The upload reads the file by the
///   descriptor it opened without following links (``PinnedFile``).
/// - Dates: S3 keeps one date per object (`Last-Modified`, the last write), which is
///   `updated`; `created` travels in the `x-amz-meta-ergon-created` metadata, carried over when
///   an artifact is replaced, so it matches ``FileArtifactStore``. An object without it (one a
///   worker uploaded through ``directUploadURL(_:name:validFor:)``) was created when last written.
/// - Content types: ``list(_:)`` takes names and sizes from the (paginated) listing and asks
///   each object's HEAD for the rest (a task has few artifacts, and the
///   HEADs go out a few at a time), so a listing reports the type the artifact was stored with,
///   the same one ``artifact(_:name:)`` reports; a guess from the name would disagree whenever
///   a task gave a type its extension does not suggest. An object stored without a type (S3's
///   `binary/octet-stream`) gets ``ContentTypeGuess``'s.
/// - Direct transfers: pre-signed GET and PUT URLs, signing only `host`, so a worker without
///   credentials can download with a plain GET and upload with a plain PUT carrying any
///   `Content-Type`.
///
/// Every failure is an ``ArtifactStoreError``: `.notFound` for a missing artifact in
/// ``fetch(_:name:to:)``, `.unavailable` otherwise, naming the bucket and key (never a credential).
public struct S3ArtifactStore: ArtifactStore {
    public let client: S3Client
    public let bucket: String
    /// No leading or trailing `/`; may be empty.
    public let prefix: String
    /// Files larger than this go up as multipart uploads.
    public let multipartThreshold: Int64
    /// The part size of multipart uploads (grown when a file would need over 10,000 parts).
    public let partSize: Int64

    /// The default threshold: below it one PUT costs less than several requests.
    public static let defaultMultipartThreshold: Int64 = 64 << 20
    /// The default part size.
    public static let defaultPartSize: Int64 = 16 << 20
    /// S3's limits on the lifetime of a pre-signed URL.
    public static let presignedLifetime: ClosedRange<Int64> = 1...604_800
    /// How many HEADs a listing has in flight at once.
    static let listingConcurrency = 8
    /// The user metadata key holding the creation time (seconds since 1970).
    static let createdMetadata = "ergon-created"
    /// The type S3 gives an object stored without one.
    static let untypedContentType = "binary/octet-stream"

    public init(
        client: S3Client, bucket: String, prefix: String, multipartThreshold: Int64 = defaultMultipartThreshold,
        partSize: Int64 = defaultPartSize
    ) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.partSize = max(S3Client.minimumPartSize, partSize)
        self.multipartThreshold = max(self.partSize, multipartThreshold)
    }

    public var location: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The folder (ending in `/`) holding the task's artifacts.
    public func folder(_ owner: ArtifactOwner) -> String {
        (prefix.isEmpty ? "" : prefix + "/") + owner.path + "/artifacts/"
    }

    /// The artifact's object key.
    public func objectKey(_ owner: ArtifactOwner, _ name: ArtifactName) -> String { folder(owner) + name.value }

    // MARK: - Reading

    public func list(_ owner: ArtifactOwner) async throws -> [Artifact] {
        let folder = folder(owner)
        let objects = try await attempt("list the artifacts", key: folder) {
            try await client.listObjects(bucket: bucket, prefix: folder)
        }
        // Only flat names: an object a foreign writer put deeper is not an artifact.
        let listed = objects.compactMap { object in
            (try? ArtifactName(String(object.key.dropFirst(folder.count)))).map { (name: $0, size: object.size) }
        }
        var artifacts: [Artifact] = []
        var pending = listed[...]
        // The size is the listing's; the HEAD adds what a listing lacks (type, creation time).
        let describe = { @Sendable (entry: (name: ArtifactName, size: Int64)) async throws -> Artifact? in
            guard var artifact = try await artifact(owner, name: entry.name) else { return nil }  // removed since
            artifact.size = entry.size
            return artifact
        }
        try await withThrowingTaskGroup(of: Artifact?.self) { group in
            for _ in 0..<Self.listingConcurrency {
                guard let entry = pending.popFirst() else { break }
                group.addTask { try await describe(entry) }
            }
            while let next = try await group.next() {
                if let next { artifacts.append(next) }
                if let entry = pending.popFirst() {
                    group.addTask { try await describe(entry) }
                }
            }
        }
        return artifacts.sorted { $0.name < $1.name }
    }

    public func artifact(_ owner: ArtifactOwner, name: ArtifactName) async throws -> Artifact? {
        let key = objectKey(owner, name)
        let details = try await attempt("read artifact \"\(name)\"", key: key) {
            try await client.objectDetails(bucket: bucket, key: key)
        }
        return details.map { artifact(name, $0) }
    }

    func artifact(_ name: ArtifactName, _ details: S3ObjectDetails) -> Artifact {
        let updated = details.lastModified ?? Date(timeIntervalSince1970: 0)
        let created = details.metadata[Self.createdMetadata].flatMap(TimeInterval.init).map(Date.init(timeIntervalSince1970:))
        var type = details.contentType ?? ""
        if type.isEmpty || type == Self.untypedContentType { type = ContentTypeGuess.forName(name.value) }
        return Artifact(name: name, size: details.size, contentType: type, created: min(created ?? updated, updated), updated: updated)
    }

    public func fetch(_ owner: ArtifactOwner, name: ArtifactName, to destination: String) async throws {
        let key = objectKey(owner, name)
        // Next to the destination, so the rename stays on one file system.
        let partial = destination + ".ergon-partial-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: partial) }
        let found = try await attempt("download artifact \"\(name)\" to \(destination)", key: key) {
            try await client.downloadObject(bucket: bucket, key: key, to: partial)
        }
        guard found else {
            throw ArtifactStoreError(
                .notFound, "task \(owner.taskID.uuidString.lowercased()) has no artifact \"\(name)\" (s3://\(bucket)/\(key))")
        }
        do {
            try DurableFile.rename(partial, to: destination)
        } catch {
            throw ArtifactStoreError(.unavailable, "copying artifact \(name) to \(destination) failed: \(error)")
        }
    }

    // MARK: - Writing

    @discardableResult
    public func store(_ owner: ArtifactOwner, name: ArtifactName, file: String, contentType: String) async throws -> Artifact {
        let key = objectKey(owner, name)
        let source: PinnedFile
        do {
            source = try PinnedFile(path: file)
        } catch {
            throw ArtifactStoreError(.unavailable, "cannot store artifact \"\(name)\" in s3://\(bucket)/\(key): \(error)")
        }
        let stored = try await attempt("store artifact \"\(name)\"", key: key) {
            let previous = try await client.objectDetails(bucket: bucket, key: key)
            let created = previous.map { artifact(name, $0).created } ?? Date()
            let metadata = [Self.createdMetadata: String(Int64(created.timeIntervalSince1970.rounded(.down)))]
            if source.size > multipartThreshold {
                try await uploadInParts(source, key: key, contentType: contentType, metadata: metadata)
            } else {
                try await client.putObject(
                    bucket: bucket, key: key, body: .file(path: source.bodyPath, offset: 0, length: source.size),
                    contentType: contentType, metadata: metadata)
            }
            return try await client.objectDetails(bucket: bucket, key: key)
        }
        withExtendedLifetime(source) {}
        guard let stored else {
            throw ArtifactStoreError(.unavailable, "s3://\(bucket)/\(key): artifact \"\(name)\" vanished after it was stored")
        }
        return artifact(name, stored)
    }

    /// One multipart upload of the whole file: the object appears when it completes, and a
    /// failure aborts it (best effort: a bucket lifecycle rule should clean up what is left).
    private func uploadInParts(_ source: PinnedFile, key: String, contentType: String, metadata: [String: String]) async throws {
        // S3 allows 10,000 parts.
        let size = max(partSize, (source.size + 9_999) / 10_000)
        let upload = try await client.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
        do {
            var parts: [S3UploadedPart] = []
            var offset: Int64 = 0
            while offset < source.size {
                let length = min(size, source.size - offset)
                parts.append(
                    try await client.uploadPart(
                        bucket: bucket, key: key, upload: upload, number: parts.count + 1,
                        body: .file(path: source.bodyPath, offset: offset, length: length)))
                offset += length
            }
            try await client.completeMultipartUpload(bucket: bucket, key: key, upload: upload, parts: parts)
        } catch {
            try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadID: upload.id)
            throw error
        }
    }

    public func removeAll(_ owner: ArtifactOwner) async throws {
        let folder = folder(owner)
        try await attempt("remove the artifacts", key: folder) {
            for object in try await client.listObjects(bucket: bucket, prefix: folder) {
                try await client.deleteObject(bucket: bucket, key: object.key)
            }
            // An upload an agent stopped for good left unfinished: its parts are billed too.
            for upload in try await client.listMultipartUploads(bucket: bucket, prefix: folder) {
                try await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
            }
        }
    }

    // MARK: - Direct transfers

    public func directDownloadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL? {
        try presign(.GET, owner, name, validFor: validFor)
    }

    public func directUploadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL? {
        try presign(.PUT, owner, name, validFor: validFor)
    }

    /// A URL signed for `host` only (``S3Client/presignedURL(method:bucket:key:expires:date:)``),
    /// so the holder may send any other header, `Content-Type` included.
    private func presign(_ method: HTTPMethod, _ owner: ArtifactOwner, _ name: ArtifactName, validFor: Duration) throws -> URL {
        let key = objectKey(owner, name)
        let seconds = Self.presignedSeconds(validFor)
        do {
            return try client.presignedURL(method: method, bucket: bucket, key: key, expires: .seconds(seconds))
        } catch {
            throw ArtifactStoreError(.unavailable, "s3://\(bucket)/\(key): cannot pre-sign a \(method.rawValue) URL: \(error)")
        }
    }

    /// `duration` in whole seconds (a fraction rounds up), clamped to S3's 1 s to 7 days.
    static func presignedSeconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let whole = attoseconds > 0 ? seconds + 1 : seconds
        return min(max(whole, presignedLifetime.lowerBound), presignedLifetime.upperBound)
    }

    // MARK: - Errors

    /// Runs `body`, turning every failure but cancellation into `.unavailable`, naming the bucket
    /// and `key` (S3 errors carry no credential).
    private func attempt<Result>(_ what: String, key: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as ArtifactStoreError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ArtifactStoreError(.unavailable, "s3://\(bucket)/\(key): cannot \(what): \(error)")
        }
    }
}
