import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension S3Client {
    /// Writes the object's bytes to the file at `path` (created or truncated, then synced) as
    /// they arrive, so an object of any size costs one chunk of memory; ``getObject(bucket:key:from:limit:)``
    /// instead holds the whole answer. Returns false when there is no such object.
    ///
    /// A try that fails (5xx, timeout, a connection lost mid-body, fewer bytes than announced)
    /// starts again from an empty file, as the retry policy allows; the request deadline covers
    /// the wait for the answer's head, the client's read timeout each pause of the body after it.
    /// Local write failures throw ``S3DownloadFileError`` and are not retried.
    public func downloadObject(bucket: String, key: String, to path: String) async throws -> Bool {
        var attempt = 1
        while true {
            do {
                try await downloadOnce(bucket: bucket, key: key, to: path)
                return true
            } catch let error as S3Error {
                if error.kind == .noSuchKey { return false }
                guard let delay = retry.delay(after: error, attempt: attempt) else { throw error }
                logger.debug("\(error); trying again in \(delay)")
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func downloadOnce(bucket: String, key: String, to path: String) async throws {
        let call = Call(operation: "GetObject", method: .GET, bucket: bucket, key: key)
        let failure = { (kind: S3Error.Kind, status: Int?, message: String) in
            S3Error(
                kind: kind, operation: call.operation, endpoint: self.endpoint.description, bucket: bucket, key: key,
                status: status, message: message)
        }
        let (authority, objectPath) = endpoint.target(bucket: bucket, key: key)
        var unsigned = SigV4Request(method: call.method.rawValue, path: objectPath, headers: [("host", authority)])
        unsigned.headers += signer.signedHeaders(for: unsigned, payloadHash: SigV4Signer.emptyPayloadHash, date: Date())
        var request = HTTPClientRequest(url: "\(endpoint.scheme)://\(authority)\(unsigned.encodedTarget)")
        request.method = call.method
        for (name, value) in unsigned.headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        statistics.record(bodyBytes: 0)
        try await Self.translatingTransportErrors(failure) {
            let response = try await http.execute(request, timeout: .nanoseconds(retry.timeout(bodySize: 0).nanoseconds))
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let body = try await response.body.collect(upTo: 1 << 20)
                throw errorAnswer(Answer(status: status, headers: response.headers, body: Array(buffer: body)), call: call)
            }
            let file = try DownloadFile(path: path)
            for try await chunk in response.body {
                try file.append(chunk)
            }
            if let announced = response.headers.first(name: "content-length").flatMap(Int64.init), announced != file.written {
                throw failure(.transport, status, "the answer ended after \(file.written) of its \(announced) bytes")
            }
            try file.sync()
        }
    }

    /// Runs `body`, turning AsyncHTTPClient's errors into the ``S3Error`` the retry policy judges
    /// (as ``perform(_:)`` does); S3 errors, local file errors and cancellation pass unchanged.
    private static func translatingTransportErrors(
        _ failure: (S3Error.Kind, Int?, String) -> S3Error, _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as S3Error {
            throw error
        } catch let error as S3DownloadFileError {
            throw error
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw failure(.timeout, nil, "\(error)")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw failure(.transport, nil, "\(error)")
        }
    }
}

/// A downloaded object could not be written to its local file.
public struct S3DownloadFileError: Error, Sendable, CustomStringConvertible {
    /// The local file.
    public var path: String
    /// What failed.
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// The local file a download writes, truncated when opened (a retried download starts over).
final class DownloadFile {
    let path: String
    private let fd: Int32
    private(set) var written: Int64 = 0

    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw S3DownloadFileError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func append(_ chunk: ByteBuffer) throws {
        try chunk.withUnsafeReadableBytes { raw in
            var done = 0
            while done < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = pwrite(fd, base + done, raw.count - done, off_t(written) + off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw S3DownloadFileError(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        written += Int64(chunk.readableBytes)
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw S3DownloadFileError(path: path, reason: "cannot sync: \(String(cString: strerror(errno)))") }
    }
}
