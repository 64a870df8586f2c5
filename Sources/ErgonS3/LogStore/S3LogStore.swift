import ErgonCore
import Foundation

/// The log store in an S3 bucket (`logs.store: s3://BUCKET/PREFIX`).
///
/// Layout, under `PREFIX/<workflow id>/<task id>/`:
/// - `<attempt>.log`: the final log, byte for byte what the task wrote (and the agent's
///   `[ergon]` lines), written once the attempt ended;
/// - `<attempt>.log.live/<20-digit offset>`: while the task runs, each flush's new bytes,
///   starting at that offset of the log; removed once the final object exists. A segment ends
///   where the next begins, so a reader follows them from offset 0 by their sizes, with no
///   listing.
///
/// Cost: each byte is sent at most twice, once in a live segment and once in a part of the
/// multipart upload that becomes the final object (parts of ``partSize`` are sent as soon as
/// the log has one, so little is left to send when the task ends). A whole re-upload per
/// flush would instead send the log's size at every flush, quadratic in its length.
public struct S3LogStore: LogStore {
    public let client: S3Client
    public let bucket: String
    /// No leading or trailing `/`; may be empty.
    public let prefix: String
    /// The size of the multipart upload's parts (at least S3's 5 MiB).
    public let partSize: Int64

    /// The default part size.
    public static let defaultPartSize: Int64 = 8 << 20

    /// How the agent's log store client tries: twice, 10 s per request (plus 1 s per MiB of
    /// body). A store that fails costs a flush a few seconds, never minutes: the spool keeps
    /// the bytes and the next flush, or the backlog, tries again.
    public static let retryPolicy = S3RetryPolicy(attempts: 2, initialDelay: .milliseconds(200), requestTimeout: .seconds(10))

    public init(client: S3Client, bucket: String, prefix: String, partSize: Int64 = defaultPartSize) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.partSize = max(S3Client.minimumPartSize, partSize)
    }

    /// The final object's key.
    public func objectKey(_ key: LogKey) -> String {
        prefix.isEmpty ? key.workflowPath : "\(prefix)/\(key.workflowPath)"
    }

    /// The folder of live segments.
    public func liveFolder(_ key: LogKey) -> String { objectKey(key) + ".live/" }

    func liveKey(_ key: LogKey, start: Int64) -> String {
        let digits = String(start)
        return liveFolder(key) + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    public func location(key: LogKey) -> String { "s3://\(bucket)/\(objectKey(key))" }

    /// Every object under `PREFIX/<workflow id>/<task id>/`: final logs and live segments, and
    /// the multipart uploads an agent stopped for good left unfinished.
    public func objects(workflowID: UUID, taskID: UUID) async throws -> [StoredObject] {
        let folder = "\(workflowID.uuidString.lowercased())/\(taskID.uuidString.lowercased())/"
        let path = prefix.isEmpty ? folder : "\(prefix)/\(folder)"
        let objects = try await client.listObjects(bucket: bucket, prefix: path).map { StoredObject(key: $0.key, size: $0.size) }
        let uploads = try await client.listMultipartUploads(bucket: bucket, prefix: path)
            .map { StoredObject(key: $0.key, size: 0, uploadID: $0.uploadID) }
        return objects + uploads
    }

    /// Deletes the objects and aborts the uploads (S3 answers a missing key with success, and
    /// an unknown upload is no error here).
    public func remove(_ objects: [StoredObject]) async throws {
        for object in objects {
            if let uploadID = object.uploadID {
                try await client.abortMultipartUpload(bucket: bucket, key: object.key, uploadID: uploadID)
            } else {
                try await client.deleteObject(bucket: bucket, key: object.key)
            }
        }
    }

    static func statePath(_ log: SpooledLog) -> String { log.path + ".s3.json" }

    public func ship(_ log: SpooledLog) async throws -> Int64 {
        let statePath = Self.statePath(log)
        var state = S3LogUploadState.load(statePath)
        if state.sealed, state.sealedLength == log.length { return log.length }
        state.sealed = false
        state.clip(to: log.length)
        if log.isComplete {
            try await seal(log, state: &state, statePath: statePath)
            return log.length
        }
        if log.length > state.liveEnd {
            let start = state.liveEnd
            try await client.putObject(
                bucket: bucket, key: liveKey(log.key, start: start),
                body: .file(path: log.path, offset: start, length: log.length - start), contentType: Self.contentType)
            state.segments.append(start)
            state.liveEnd = log.length
            try state.save(statePath)
        }
        try await sendFullParts(log, state: &state, statePath: statePath)
        return state.liveEnd
    }

    static let contentType = "text/plain; charset=utf-8"

    /// Sends every whole part the log holds beyond the parts already sent.
    private func sendFullParts(_ log: SpooledLog, state: inout S3LogUploadState, statePath: String) async throws {
        while log.length - state.partsEnd >= partSize {
            try await sendPart(log, length: partSize, state: &state, statePath: statePath)
        }
    }

    private func sendPart(_ log: SpooledLog, length: Int64, state: inout S3LogUploadState, statePath: String) async throws {
        let objectKey = objectKey(log.key)
        let upload: S3MultipartUpload
        if let recorded = state.upload {
            upload = recorded
        } else {
            upload = try await client.createMultipartUpload(bucket: bucket, key: objectKey, contentType: Self.contentType)
            state.upload = upload
            try state.save(statePath)
        }
        let start = state.partsEnd
        do {
            let part = try await client.uploadPart(
                bucket: bucket, key: objectKey, upload: upload, number: state.parts.count + 1,
                body: .file(path: log.path, offset: start, length: length))
            state.parts.append(part)
        } catch let error as S3Error where error.kind == .noSuchUpload {
            // Aborted by a lifecycle rule or forgotten by the server: start again from the spool.
            state.dropUpload()
            try state.save(statePath)
            throw error
        }
        try state.save(statePath)
    }

    /// Makes the final object: the rest of the parts and a completion, or one PUT for a log
    /// shorter than a part; then removes the live segments.
    private func seal(_ log: SpooledLog, state: inout S3LogUploadState, statePath: String) async throws {
        let objectKey = objectKey(log.key)
        if state.upload == nil, log.length <= partSize {
            try await client.putObject(
                bucket: bucket, key: objectKey, body: .file(path: log.path, offset: 0, length: log.length),
                contentType: Self.contentType)
        } else {
            do {
                try await sendFullParts(log, state: &state, statePath: statePath)
                if log.length > state.partsEnd {
                    try await sendPart(log, length: log.length - state.partsEnd, state: &state, statePath: statePath)
                }
                guard let upload = state.upload else {
                    throw S3LogStoreError(path: statePath, reason: "no multipart upload to complete")
                }
                try await client.completeMultipartUpload(bucket: bucket, key: objectKey, upload: upload, parts: state.parts)
            } catch let error as S3Error where error.kind == .noSuchUpload {
                // A completion whose answer was lost leaves the object in place: keep it if whole.
                if let head = try await client.headObject(bucket: bucket, key: objectKey), head.size == log.length,
                    state.partsEnd == log.length
                {
                    // Done already.
                } else {
                    state.dropUpload()
                    try state.save(statePath)
                    throw error
                }
            }
        }
        // The recorded segments, and the one a ship cut short by a crash may have sent unrecorded.
        for start in state.segments + [state.liveEnd] {
            try await client.deleteObject(bucket: bucket, key: liveKey(log.key, start: start))
        }
        state.segments = []
        state.dropUpload()
        state.sealed = true
        state.sealedLength = log.length
        state.liveEnd = log.length
        try state.save(statePath)
    }

    public func read(key: LogKey, from offset: Int64) async throws -> [UInt8]? {
        if let bytes = try await client.getObject(bucket: bucket, key: objectKey(key), from: offset) { return bytes }
        // Follow the live segments from the start: each ends where the next begins.
        // Segments wholly before `offset` are only sized, not downloaded.
        var bytes: [UInt8] = []
        var start: Int64 = 0
        while true {
            let segmentKey = liveKey(key, start: start)
            let size: Int64
            if bytes.isEmpty {
                guard let head = try await client.headObject(bucket: bucket, key: segmentKey) else { break }
                size = head.size
                if start + size > offset {
                    guard let chunk = try await client.getObject(bucket: bucket, key: segmentKey, from: max(0, offset - start))
                    else { break }
                    bytes += chunk
                }
            } else {
                guard let chunk = try await client.getObject(bucket: bucket, key: segmentKey) else { break }
                size = Int64(chunk.count)
                bytes += chunk
            }
            guard size > 0 else { break }
            start += size
        }
        if start == 0 {
            // No segment: the log was sealed meanwhile, or never shipped.
            return try await client.getObject(bucket: bucket, key: objectKey(key), from: offset)
        }
        return bytes
    }
}
