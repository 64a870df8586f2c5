import AsyncHTTPClient
import ErgonCore
import Foundation
import NIOCore

/// The agent's fetcher: HTTP and Hugging Face resources through ``HTTPResourceFetcher``, S3 ones
/// through ``S3ResourceFetcher`` when the agent has `s3` settings.
public struct ResourceFetchers: ResourceFetcher {
    /// Fetches `HTTP` and `HF` resources.
    public let http: HTTPResourceFetcher
    /// Fetches `S3` resources; nil when the agent has no `s3` settings.
    public let s3: S3ResourceFetcher?

    /// Routes by the resource's kind to `http` or `s3`.
    public init(http: HTTPResourceFetcher, s3: S3ResourceFetcher?) {
        self.http = http
        self.s3 = s3
    }

    public func fetch(
        _ source: ResourceSource, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        switch source.kind {
        case .http, .hf:
            return try await http.fetch(source, to: destination, announceSize: announceSize)
        case .s3:
            guard let s3 else {
                throw ResourceError(
                    .unavailable,
                    "\(source): an S3 resource needs the agent's s3 settings (s3.endpoint or s3.region, "
                        + "s3.access_key_id and s3.secret_access_key in config.yaml)")
            }
            return try await s3.fetch(source, to: destination, announceSize: announceSize)
        }
    }
}

// MARK: - What the fetchers share

/// What an answer to a download request means for the partial file it should continue. A pure
/// function of the status and two headers, so every case is a table test.
enum ResumeDecision: Equatable {
    /// Keep the file's first `offset` bytes and write the body after them; `total` is the
    /// content's size when the answer tells it.
    case write(offset: Int64, total: Int64?)
    /// The file already holds all `total` bytes (a 416 whose `Content-Range` total is the file's size).
    case complete(total: Int64)
    /// The answer does not continue the file (a range at another offset, a 416 for another size):
    /// ask again for the whole content.
    case startOver
    /// The answer carries no content: its status is the error.
    case refused

    /// The decision for an answer with `status`, `Content-Length` and `Content-Range` to a request
    /// for the bytes from `requestedOffset` on (0: the whole content, no `Range` header).
    init(status: Int, contentLength: Int64?, contentRange: String?, requestedOffset: Int64) {
        let range = contentRange.flatMap(ContentRange.init)
        switch status {
        case 200:
            self = .write(offset: 0, total: contentLength)
        case 206:
            guard let range, let first = range.first, first == requestedOffset else {
                self = requestedOffset > 0 ? .startOver : .refused
                return
            }
            self = .write(offset: first, total: range.total ?? range.last.map { $0 + 1 })
        case 416 where requestedOffset > 0:
            self = range?.total == requestedOffset ? .complete(total: requestedOffset) : .startOver
        default:
            self = .refused
        }
    }
}

/// A `Content-Range` header: `bytes FIRST-LAST/TOTAL`, `bytes FIRST-LAST/*` or `bytes */TOTAL`.
struct ContentRange: Equatable {
    var first: Int64?
    var last: Int64?
    var total: Int64?
}

extension ContentRange {
    /// Parses the header; nil when it is none of the three forms.
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes ") else { return nil }
        let parts = trimmed.dropFirst("bytes ".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let span = parts[0].trimmingCharacters(in: .whitespaces)
        let size = parts[1].trimmingCharacters(in: .whitespaces)
        if size == "*" {
            total = nil
        } else {
            guard let value = Int64(size), value >= 0 else { return nil }
            total = value
        }
        if span == "*" {
            guard total != nil else { return nil }
            return
        }
        let bounds = span.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first >= 0, last >= first else {
            return nil
        }
        self.first = first
        self.last = last
    }
}

/// The file a download writes. Opened without truncation, so what an earlier, interrupted try
/// wrote can be continued; written at explicit offsets, synced when done.
///
/// Used by one task at a time (a fetch's own), so it needs no lock.
final class DownloadedFile {
    /// The file.
    let path: String
    /// What the messages name: the resource.
    let resource: String
    private let descriptor: Int32
    /// Bytes in the file.
    private(set) var size: Int64

    /// Opens (or creates) the file at `path`, refusing to follow a link there.
    init(path: String, resource: String) throws {
        self.path = path
        self.resource = resource
        let descriptor = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(resource, "cannot open \(path)") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = Self.failure(resource, "cannot read the size of \(path)")
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.size = Int64(status.st_size)
    }

    deinit { close(descriptor) }

    /// Cuts the file to its first `count` bytes (0: starts it over).
    func keep(first count: Int64) throws {
        guard count != size else { return }
        guard ftruncate(descriptor, off_t(count)) == 0 else { throw Self.failure(resource, "cannot truncate \(path)") }
        size = count
    }

    /// Writes `body` after the file's bytes, chunk by chunk as it arrives. When the transfer stops
    /// or the body ends before the file holds `total` bytes, throws `.fetchFailed` and leaves what
    /// arrived, for the next try to continue.
    func append<Body: AsyncSequence>(_ body: Body, until total: Int64?) async throws where Body.Element == ByteBuffer {
        let of = total.map { " of \($0)" } ?? ""
        do {
            for try await chunk in body {
                try write(chunk)
            }
        } catch let error as ResourceError {
            throw error
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            throw ResourceError(
                .fetchFailed, "\(resource): the download stopped after \(size)\(of) bytes: \(TransferFailure.describe(error))")
        }
        if let total, size != total {
            throw ResourceError(.fetchFailed, "\(resource): the download ended after \(size)\(of) bytes")
        }
    }

    /// Flushes the file to disk.
    func sync() throws {
        guard fsync(descriptor) == 0 else { throw Self.failure(resource, "cannot sync \(path)") }
    }

    private func write(_ chunk: ByteBuffer) throws {
        try chunk.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let written = pwrite(descriptor, base + done, raw.count - done, off_t(size) + off_t(done))
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw Self.failure(resource, "cannot write \(path)") }
                done += written
            }
        }
        size += Int64(chunk.readableBytes)
    }

    /// A local failure (a full disk, a missing folder): another try may succeed.
    private static func failure(_ resource: String, _ what: String) -> ResourceError {
        ResourceError(.fetchFailed, "\(resource): \(what): \(String(cString: strerror(errno)))")
    }
}

/// How a transfer failure reads in a message.
enum TransferFailure {
    /// AsyncHTTPClient's and NIO's errors in words.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout: return "no bytes arrived within the read timeout"
            case .deadlineExceeded: return "no answer in time"
            case .connectTimeout: return "could not connect in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: break
            }
        }
        return "\(error)"
    }
}
