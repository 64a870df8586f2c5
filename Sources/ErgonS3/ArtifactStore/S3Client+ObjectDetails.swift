import Foundation
import NIOHTTP1

/// What a HEAD tells of an object beyond its size: the artifact store needs the content type
/// and dates, which ``S3ObjectInfo`` (shared with listings, which carry no content type) leaves out.
public struct S3ObjectDetails: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Its entity tag, quotes removed.
    public var etag: String?
    /// The `Content-Type` it was stored with; nil when the server sent none.
    public var contentType: String?
    /// When it was last written (`Last-Modified`, whole seconds); nil when absent or unreadable.
    public var lastModified: Date?
    /// Its user metadata (`x-amz-meta-NAME` headers), by lower-case NAME.
    public var metadata: [String: String]
}

extension S3Client {
    /// The object's size, type, dates and user metadata; nil when there is no such object.
    ///
    /// A HEAD answer has no body, so a missing bucket also reads as nil here.
    public func objectDetails(bucket: String, key: String) async throws -> S3ObjectDetails? {
        let answer: Answer
        do {
            answer = try await perform(Call(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key))
        } catch let error as S3Error where error.kind == .noSuchKey {
            return nil
        }
        var metadata: [String: String] = [:]
        for header in answer.headers {
            let name = header.name.lowercased()
            if name.hasPrefix(Self.metadataPrefix) { metadata[String(name.dropFirst(Self.metadataPrefix.count))] = header.value }
        }
        return S3ObjectDetails(
            key: key, size: answer.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0,
            etag: Self.etag(answer.headers), contentType: answer.headers.first(name: "content-type"),
            lastModified: answer.headers.first(name: "last-modified").flatMap(HTTPDate.parse), metadata: metadata)
    }

    /// Writes an object in one request with user metadata (sent as `x-amz-meta-NAME` headers,
    /// which are signed like every other header); returns its entity tag.
    @discardableResult
    public func putObject(
        bucket: String, key: String, body: S3Body, contentType: String?, metadata: [String: String]
    ) async throws -> String? {
        let answer = try await perform(
            Call(
                operation: "PutObject", method: .PUT, bucket: bucket, key: key,
                headers: Self.headers(contentType: contentType, metadata: metadata), body: body))
        return Self.etag(answer.headers)
    }

    /// Starts a multipart upload, with SHA-256 part checksums when ``partChecksums`` is on, whose
    /// object gets `contentType` and user `metadata`.
    public func createMultipartUpload(
        bucket: String, key: String, contentType: String?, metadata: [String: String]
    ) async throws -> S3MultipartUpload {
        let checksum: [(name: String, value: String)] = partChecksums ? [("x-amz-checksum-algorithm", "SHA256")] : []
        let call = Call(
            operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [("uploads", "")],
            headers: Self.headers(contentType: contentType, metadata: metadata) + checksum)
        let answer = try await perform(call)
        guard let document = S3XMLElement.parse(answer.body), let uploadID = document.text(of: "UploadId"), !uploadID.isEmpty
        else {
            throw S3Error(
                kind: .malformed, operation: call.operation, endpoint: endpoint.description, bucket: bucket, key: key,
                status: answer.status, message: "the answer holds no UploadId")
        }
        return S3MultipartUpload(id: uploadID, partChecksums: partChecksums)
    }

    static let metadataPrefix = "x-amz-meta-"

    private static func headers(contentType: String?, metadata: [String: String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.append((metadataPrefix + name.lowercased(), value))
        }
        return headers
    }
}

/// Reads the HTTP date S3 sends in `Last-Modified` (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110's
/// IMF-fixdate), without a shared `DateFormatter` (not Sendable).
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT", let day = Int(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int(fields[3])
        else { return nil }
        let time = fields[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month + 1
        components.day = day
        components.hour = time[0]
        components.minute = time[1]
        components.second = time[2]
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        return calendar.date(from: components)
    }
}
