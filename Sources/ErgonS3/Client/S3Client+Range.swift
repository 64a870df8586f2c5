import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The answer to a GET of an object from an offset, its body still to read.
public struct S3ObjectRead: Sendable {
    /// 200 for the whole object, 206 for the part from the offset on.
    public var status: Int
    /// The answer's headers (`Content-Length`, `Content-Range`, `Content-Type`, `ETag`).
    public var headers: HTTPHeaders
    /// The bytes, as they arrive.
    public var body: HTTPClientResponse.Body
}

extension S3Client {
    /// Lends `body` the answer to a GET of the object from `offset` on (a `Range: bytes=offset-`
    /// request when offset > 0), so a caller can continue a partial copy and write the bytes
    /// wherever they go as they arrive: ``downloadObject(bucket:key:to:)`` always starts over and
    /// ``getObject(bucket:key:from:limit:)`` holds the answer in memory.
    ///
    /// A try that fails before the answer's head is resent as the retry policy allows; once `body`
    /// has the answer nothing is resent (the caller knows how far it got), and what `body` throws
    /// passes unchanged. Error answers throw ``S3Error`` (`.noSuchKey` for a missing object; an
    /// offset at or past the end is the 416 `InvalidRange`, kind `.rejected`).
    public func withObjectRead<Result>(
        bucket: String, key: String, from offset: Int64 = 0, _ body: (S3ObjectRead) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            let read: S3ObjectRead
            do {
                read = try await openRead(bucket: bucket, key: key, from: offset)
            } catch let error as S3Error {
                guard let delay = retry.delay(after: error, attempt: attempt) else { throw error }
                logger.debug("\(error); trying again in \(delay)")
                try await Task.sleep(for: delay)
                attempt += 1
                continue
            }
            return try await body(read)
        }
    }

    /// Sends one signed GET and returns its answer when it is a 2xx; an error answer becomes ``S3Error``.
    private func openRead(bucket: String, key: String, from offset: Int64) async throws -> S3ObjectRead {
        let call = Call(operation: "GetObject", method: .GET, bucket: bucket, key: key)
        let (authority, objectPath) = endpoint.target(bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = [("host", authority)]
        if offset > 0 { headers.append(("range", "bytes=\(offset)-")) }
        var unsigned = SigV4Request(method: call.method.rawValue, path: objectPath, headers: headers)
        unsigned.headers += signer.signedHeaders(for: unsigned, payloadHash: SigV4Signer.emptyPayloadHash, date: Date())
        var request = HTTPClientRequest(url: "\(endpoint.scheme)://\(authority)\(unsigned.encodedTarget)")
        request.method = call.method
        for (name, value) in unsigned.headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        statistics.record(bodyBytes: 0)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(retry.timeout(bodySize: 0).nanoseconds))
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw S3Error(
                kind: .timeout, operation: call.operation, endpoint: endpoint.description, bucket: bucket, key: key,
                message: "\(error)")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw S3Error(
                kind: .transport, operation: call.operation, endpoint: endpoint.description, bucket: bucket, key: key,
                message: "\(error)")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let document = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            throw errorAnswer(Answer(status: status, headers: response.headers, body: Array(buffer: document)), call: call)
        }
        return S3ObjectRead(status: status, headers: response.headers, body: response.body)
    }
}
