import Foundation
import NIOCore
import NIOHTTP1

/// A multipart upload in progress.
public struct S3MultipartUpload: Sendable, Equatable, Codable {
    /// The id S3 gave it.
    public var id: String
    /// Whether it was created with the SHA-256 checksum algorithm: then every part must carry
    /// its checksum, and the completion must repeat each one. A client creates them so unless
    /// its ``S3Client/partChecksums`` is off; one recorded by an older Ergon goes on without.
    public var partChecksums: Bool

    public init(id: String, partChecksums: Bool) {
        self.id = id
        self.partChecksums = partChecksums
    }
}

/// A multipart upload neither completed nor aborted, as a listing names it.
public struct S3UnfinishedUpload: Sendable, Equatable {
    /// The key the object would get.
    public var key: String
    /// The upload's id.
    public var uploadID: String
}

/// One uploaded part of a multipart upload.
public struct S3UploadedPart: Sendable, Equatable, Codable {
    /// Its number, from 1.
    public var number: Int
    /// The entity tag S3 gave it.
    public var etag: String
    /// Its size in bytes.
    public var size: Int64
    /// The base64 SHA-256 it was sent with, when its upload has part checksums.
    public var checksumSHA256: String?

    public init(number: Int, etag: String, size: Int64, checksumSHA256: String? = nil) {
        self.number = number
        self.etag = etag
        self.size = size
        self.checksumSHA256 = checksumSHA256
    }
}

extension S3Client {
    /// The smallest part S3 accepts, but for the last one.
    public static let minimumPartSize: Int64 = 5 << 20

    /// Starts a multipart upload (with SHA-256 part checksums when ``partChecksums`` is on).
    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil) async throws -> S3MultipartUpload {
        try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: [:])
    }

    /// Uploads part `number` (1...10000) of an upload; returns it with its entity tag (and the
    /// checksum it was sent with, when the upload has part checksums).
    public func uploadPart(
        bucket: String, key: String, upload: S3MultipartUpload, number: Int, body: S3Body
    ) async throws -> S3UploadedPart {
        let call = Call(
            operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
            query: [("partNumber", String(number)), ("uploadId", upload.id)], body: body, sendsChecksum: upload.partChecksums)
        let answer = try await perform(call)
        guard let etag = Self.etag(answer.headers) else {
            throw S3Error(
                kind: .malformed, operation: call.operation, endpoint: endpoint.description, bucket: bucket, key: key,
                status: answer.status, message: "the answer has no ETag for part \(number)")
        }
        return S3UploadedPart(number: number, etag: etag, size: body.length, checksumSHA256: answer.sentChecksum)
    }

    /// Completes an upload from its parts (in order); returns the object's entity tag. S3 may
    /// answer 200 and still fail, with an error document in the body: that is an error here.
    @discardableResult
    public func completeMultipartUpload(
        bucket: String, key: String, upload: S3MultipartUpload, parts: [S3UploadedPart]
    ) async throws -> String? {
        if upload.partChecksums, let part = parts.first(where: { $0.checksumSHA256 == nil }) {
            // S3 would refuse the completion with a bare InvalidPart: say why here.
            throw S3Error(
                kind: .rejected, operation: "CompleteMultipartUpload", endpoint: endpoint.description, bucket: bucket, key: key,
                message: "part \(part.number) has no SHA-256 checksum, which an upload created with part checksums needs")
        }
        var document = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts.sorted(by: { $0.number < $1.number }) {
            document += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\"\(S3XMLElement.escape(part.etag))\"</ETag>"
            if upload.partChecksums, let checksum = part.checksumSHA256 {  // present: checked above
                document += "<ChecksumSHA256>\(S3XMLElement.escape(checksum))</ChecksumSHA256>"
            }
            document += "</Part>"
        }
        document += "</CompleteMultipartUpload>"
        let call = Call(
            operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key, query: [("uploadId", upload.id)],
            headers: [("content-type", "application/xml")], body: .bytes(Array(document.utf8)))
        var attempt = 1
        while true {
            let answer = try await perform(call)
            let result = S3XMLElement.parse(answer.body)
            if let result, result.name == "Error" {
                let error = errorAnswer(answer, call: call)
                // The 200-with-an-error case: the status said success, so judge by the code alone.
                let retryable = error.code == "InternalError" || error.code == "SlowDown" || error.code == "ServiceUnavailable"
                if retryable, attempt < retry.attempts {
                    try await Task.sleep(for: retry.initialDelay * attempt)
                    attempt += 1
                    continue
                }
                throw error
            }
            // AWS names the root CompleteMultipartUploadResult; moto and some gateways ...Response.
            guard let result, ["CompleteMultipartUploadResult", "CompleteMultipartUploadResponse"].contains(result.name) else {
                throw S3Error(
                    kind: .malformed, operation: call.operation, endpoint: endpoint.description, bucket: bucket, key: key,
                    status: answer.status,
                    message: "the answer is not a CompleteMultipartUploadResult document: \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
            }
            return result.text(of: "ETag").map(Self.unquoted)
        }
    }

    /// The unfinished multipart uploads of keys under `prefix`, following the listing's pages
    /// (ListMultipartUploads). Their parts are stored, and billed, until they are completed or
    /// aborted. Only keys under `prefix` are returned, whatever the server does with it.
    public func listMultipartUploads(bucket: String, prefix: String) async throws -> [S3UnfinishedUpload] {
        var uploads: [S3UnfinishedUpload] = []
        var marker: [String]?  // key-marker, upload-id-marker
        repeat {
            var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", prefix), ("max-uploads", "1000")]
            if let marker { query += [("key-marker", marker[0]), ("upload-id-marker", marker[1])] }
            let call = Call(operation: "ListMultipartUploads", method: .GET, bucket: bucket, key: nil, query: query)
            let document = try listing(try await perform(call), of: call, root: "ListMultipartUploadsResult")
            for entry in document.children("Upload") {
                guard let key = entry.text(of: "Key"), let id = entry.text(of: "UploadId"), key.hasPrefix(prefix) else { continue }
                uploads.append(S3UnfinishedUpload(key: key, uploadID: id))
            }
            let next = [document.text(of: "NextKeyMarker") ?? "", document.text(of: "NextUploadIdMarker") ?? ""]
            let truncated = document.text(of: "IsTruncated") == "true" && !next[0].isEmpty
            // A server repeating its marker would page forever.
            marker = truncated && next != marker ? next : nil
        } while marker != nil
        return uploads
    }

    /// Abandons an upload and frees its parts (an unknown upload is not an error).
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        do {
            _ = try await perform(
                Call(
                    operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key,
                    query: [("uploadId", uploadID)]))
        } catch let error as S3Error where error.kind == .noSuchUpload {
            return
        }
    }
}
