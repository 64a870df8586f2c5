import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A small S3 client on AsyncHTTPClient: objects, listings, multipart uploads, pre-signed URLs.
///
/// Every request is signed with SigV4 (hashed payloads; a file body is hashed, then streamed,
/// chunk by chunk). Multipart uploads are created with the SHA-256 checksum algorithm (unless
/// ``partChecksums`` is off), so each part also carries that same hash as its checksum, which
/// S3 checks and keeps. Error answers become one ``S3Error``. Calls are resent with backoff on 5xx,
/// `SlowDown`, timeouts and connection errors, as ``S3RetryPolicy`` allows; every S3 call the
/// client makes is idempotent (a part or an object written twice holds the same bytes).
public struct S3Client: Sendable {
    /// Where the service is.
    public let endpoint: S3Endpoint
    /// How hard calls try.
    public private(set) var retry: S3RetryPolicy
    /// What this client (and its copies) sent.
    public let statistics: S3TransferStatistics
    /// Whether the multipart uploads it creates carry SHA-256 part checksums (on by default;
    /// `s3.part_checksums: false` for a store that refuses `x-amz-checksum-algorithm`).
    public private(set) var partChecksums = true
    let signer: SigV4Signer
    let http: HTTPClient
    let logger: Logger
    /// The largest answer body read into memory (listings, error documents, ranged reads).
    static let maximumAnswerSize = 256 * 1024 * 1024

    /// A client using an `HTTPClient` the caller owns and shuts down (see ``httpConfiguration``).
    public init(
        endpoint: S3Endpoint, credentials: S3Credentials, httpClient: HTTPClient, retry: S3RetryPolicy = .standard,
        logger: Logger = Logger(label: "ergon.s3")
    ) {
        self.endpoint = endpoint
        self.signer = SigV4Signer(credentials: credentials, region: endpoint.region)
        self.http = httpClient
        self.retry = retry
        self.logger = logger
        self.statistics = S3TransferStatistics()
    }

    /// The configuration the client is meant for: no redirects (they would carry a signature
    /// meant for another host), no connection retries of its own (the retry policy decides).
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return configuration
    }

    /// The same client (its statistics shared) with another retry policy.
    public func with(retry: S3RetryPolicy) -> S3Client {
        var copy = self
        copy.retry = retry
        return copy
    }

    /// The same client, creating multipart uploads with part checksums or without.
    public func with(partChecksums: Bool) -> S3Client {
        var copy = self
        copy.partChecksums = partChecksums
        return copy
    }

    /// An answer: status, headers and the body read into memory.
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        /// The base64 SHA-256 of the body sent, when the call sent it as `x-amz-checksum-sha256`.
        var sentChecksum: String? = nil
    }

    /// One S3 call.
    struct Call: Sendable {
        var operation: String
        var method: HTTPMethod
        var bucket: String
        var key: String?
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body: S3Body = .empty
        /// Whether the body's SHA-256 also goes in `x-amz-checksum-sha256`, for S3 to check and
        /// keep (the part of an upload created with that checksum algorithm).
        var sendsChecksum = false
        /// Statuses that are not errors (any 2xx by default).
        var accepts: @Sendable (Int) -> Bool = { (200..<300).contains($0) }
    }

    /// Sends `call` (resent as the retry policy allows) and returns its answer, or throws ``S3Error``.
    func perform(_ call: Call) async throws -> Answer {
        let payload: SigV4Signer.PayloadDigest
        do {
            payload = try call.body.sha256()
        } catch {
            throw S3Error(
                kind: .rejected, operation: call.operation, endpoint: endpoint.description, bucket: call.bucket, key: call.key,
                message: "cannot read the body: \(error)")
        }
        var attempt = 1
        while true {
            do {
                return try await performOnce(call, payload: payload)
            } catch let error as S3Error {
                guard let delay = retry.delay(after: error, attempt: attempt) else { throw error }
                logger.debug("\(error); trying again in \(delay)")
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func performOnce(_ call: Call, payload: SigV4Signer.PayloadDigest) async throws -> Answer {
        let (authority, path) = endpoint.target(bucket: call.bucket, key: call.key)
        let checksum = call.sendsChecksum ? payload.base64 : nil
        var unsigned = SigV4Request(
            method: call.method.rawValue, path: path, query: call.query,
            headers: [("host", authority)] + call.headers + (checksum.map { [(Self.checksumHeader, $0)] } ?? []))
        unsigned.headers += signer.signedHeaders(for: unsigned, payloadHash: payload.hex, date: Date())
        var request = HTTPClientRequest(url: "\(endpoint.scheme)://\(authority)\(unsigned.encodedTarget)")
        request.method = call.method
        for (name, value) in unsigned.headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        switch call.body {
        case .empty:
            if call.method == .PUT || call.method == .POST { request.body = .bytes(ByteBuffer()) }
        case .bytes(let bytes):
            request.body = .bytes(ByteBuffer(bytes: bytes))
        case .file(let path, let offset, let length):
            request.body = .stream(FileRangeChunks(path: path, offset: offset, length: length), length: .known(length))
        }
        let failure = { (kind: S3Error.Kind, status: Int?, message: String) in
            S3Error(
                kind: kind, operation: call.operation, endpoint: self.endpoint.description, bucket: call.bucket,
                key: call.key, status: status, message: message)
        }
        let timeout = retry.timeout(bodySize: call.body.length)
        let answer: Answer
        statistics.record(bodyBytes: call.body.length)
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let body =
                call.method == .HEAD
                ? ByteBuffer() : try await response.body.collect(upTo: Self.maximumAnswerSize)
            answer = Answer(
                status: Int(response.status.code), headers: response.headers, body: Array(buffer: body), sentChecksum: checksum)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw failure(.timeout, nil, "\(error)")
        } catch let error as S3Error {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw failure(.transport, nil, "\(error)")
        }
        guard call.accepts(answer.status) else { throw errorAnswer(answer, call: call) }
        return answer
    }

    /// The header carrying a body's base64 SHA-256 for S3 to check and keep.
    static let checksumHeader = "x-amz-checksum-sha256"

    /// The error an answer's status and error document tell.
    func errorAnswer(_ answer: Answer, call: Call) -> S3Error {
        let document = S3XMLElement.parse(answer.body)
        let code = document?.name == "Error" ? document?.text(of: "Code") : nil
        var kind = S3Error.kind(status: answer.status, code: code)
        if code == nil, answer.status == 404 {
            kind = call.key == nil ? .noSuchBucket : .noSuchKey  // a HEAD answer has no body
        }
        let message =
            document?.text(of: "Message")
            ?? String(decoding: answer.body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return S3Error(
            kind: kind, operation: call.operation, endpoint: endpoint.description, bucket: call.bucket, key: call.key,
            status: answer.status, code: code, message: message,
            requestID: document?.text(of: "RequestId") ?? answer.headers.first(name: "x-amz-request-id"))
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
