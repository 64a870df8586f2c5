import Foundation
import NIOCore
import NIOHTTP1

/// What a listing or a HEAD tells of an object.
public struct S3ObjectInfo: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Its entity tag, quotes removed.
    public var etag: String?
}

extension S3Client {
    /// Writes an object in one request; returns its entity tag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: S3Body, contentType: String? = nil) async throws -> String? {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        let answer = try await perform(
            Call(operation: "PutObject", method: .PUT, bucket: bucket, key: key, headers: headers, body: body))
        return Self.etag(answer.headers)
    }

    /// The object's bytes from `offset` on (all of it by default), at most `limit` of them;
    /// nil when there is no such object. An offset at or past the end gives no bytes.
    public func getObject(bucket: String, key: String, from offset: Int64 = 0, limit: Int64? = nil) async throws -> [UInt8]? {
        var headers: [(name: String, value: String)] = []
        if offset > 0 || limit != nil {
            let last = limit.map { String(offset + max(1, $0) - 1) } ?? ""
            headers.append(("range", "bytes=\(offset)-\(last)"))
        }
        do {
            let answer = try await perform(
                Call(
                    operation: "GetObject", method: .GET, bucket: bucket, key: key, headers: headers,
                    accepts: { (200..<300).contains($0) || $0 == 416 }))
            return answer.status == 416 ? [] : answer.body
        } catch let error as S3Error where error.kind == .noSuchKey {
            return nil
        }
    }

    /// The object's size and entity tag; nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo? {
        do {
            let answer = try await perform(Call(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key))
            let size = answer.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
            return S3ObjectInfo(key: key, size: size, etag: Self.etag(answer.headers))
        } catch let error as S3Error where error.kind == .noSuchKey {
            return nil
        }
    }

    /// Deletes an object (deleting a missing object succeeds, as in S3).
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await perform(Call(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key))
    }

    /// Every object under `prefix`, in key order, following the listing's pages (ListObjectsV2).
    public func listObjects(bucket: String, prefix: String, pageSize: Int = 1000) async throws -> [S3ObjectInfo] {
        var objects: [S3ObjectInfo] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [
                ("list-type", "2"), ("prefix", prefix), ("max-keys", String(pageSize)),
            ]
            if let token { query.append(("continuation-token", token)) }
            let call = Call(operation: "ListObjectsV2", method: .GET, bucket: bucket, key: nil, query: query)
            let document = try listing(try await perform(call), of: call, root: "ListBucketResult")
            for entry in document.children("Contents") {
                guard let key = entry.text(of: "Key") else { continue }
                objects.append(
                    S3ObjectInfo(
                        key: key, size: Int64(entry.text(of: "Size") ?? "") ?? 0,
                        etag: entry.text(of: "ETag").map(Self.unquoted)))
            }
            token = document.text(of: "IsTruncated") == "true" ? document.text(of: "NextContinuationToken") : nil
        } while token != nil
        return objects
    }

    /// A URL that lets anyone holding it `GET` (or `PUT`) the object until `expires` from `date`
    /// (at most 7 days, as SigV4 allows).
    public func presignedURL(method: HTTPMethod, bucket: String, key: String, expires: Duration, date: Date = Date()) throws -> URL {
        let seconds = Int(expires.components.seconds)
        guard (1...604_800).contains(seconds) else {
            throw S3Error(
                kind: .rejected, operation: "Presign", endpoint: endpoint.description, bucket: bucket, key: key,
                message: "a pre-signed URL expires after 1 s to 7 days, not \(seconds) s")
        }
        let (authority, path) = endpoint.target(bucket: bucket, key: key)
        let request = SigV4Request(method: method.rawValue, path: path, headers: [("host", authority)])
        let target = signer.presignedTarget(for: request, expires: seconds, date: date)
        return URL(string: "\(endpoint.scheme)://\(authority)\(target)")!
    }

    /// A listing's XML document, whose root must be `root`.
    func listing(_ answer: Answer, of call: Call, root: String) throws -> S3XMLElement {
        guard let document = S3XMLElement.parse(answer.body), document.name == root else {
            throw S3Error(
                kind: .malformed, operation: call.operation, endpoint: endpoint.description, bucket: call.bucket,
                status: answer.status, message: "the listing is not a \(root) document")
        }
        return document
    }

    static func etag(_ headers: HTTPHeaders) -> String? {
        headers.first(name: "etag").map(unquoted)
    }

    static func unquoted(_ text: String) -> String {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}
