import AsyncHTTPClient
import ErgonCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Downloads `HTTP` resources (any `http://` or `https://` URL) and `HF` ones (`hf://OWNER/REPO
/// [@REVISION]/PATH`, from `HF_ENDPOINT` or Hugging Face), streaming the body to the file.
///
/// - Hugging Face requests carry `Authorization: Bearer $HF_TOKEN` when `HF_TOKEN` is set; plain
///   HTTP ones never do. Redirects are followed here (at most ``maximumRedirects``), not by the
///   client, so the token is dropped as soon as one leads to another origin (Hugging Face sends
///   downloads to its CDN).
/// - A destination that already holds N bytes is continued with `Range: bytes=N-`: a 206 from N
///   is appended, a 200 starts the file over, a 416 means the file is complete when the server's
///   total is N (and starts over otherwise).
/// - Time limits: ``responseTimeout`` for the answer's head, then the client's read timeout for
///   each pause of the body (see ``httpConfiguration``); a large download has no total deadline.
/// - 401, 403, 404, 410 and other 4xx refusals are `.unavailable`; 408, 429, 5xx, connection
///   failures, time-outs and bodies that end early are `.fetchFailed`.
public struct HTTPResourceFetcher: ResourceFetcher {
    /// The most redirects one download follows.
    public static let maximumRedirects = 10

    let http: HTTPClient
    let environment: [String: String]
    let logger: Logger
    /// The longest wait for an answer's head.
    public let responseTimeout: Duration

    /// A fetcher using `httpClient` (made with ``httpConfiguration``; the caller shuts it down),
    /// reading `HF_ENDPOINT` and `HF_TOKEN` from `environment`.
    public init(httpClient: HTTPClient, environment: [String: String], logger: Logger, responseTimeout: Duration = .seconds(60)) {
        self.http = httpClient
        self.environment = environment
        self.logger = logger
        self.responseTimeout = responseTimeout
    }

    /// The client configuration the fetcher is meant for: no redirects of the client's own (the
    /// fetcher decides where the token goes), no decompression (the bytes are the file), a 60 s
    /// read timeout (a download fails after a minute without bytes, whatever its length), and no
    /// connection retries (a refused connection fails at once; the cache decides when to try again).
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    public func fetch(
        _ source: ResourceSource, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        let target = try request(for: source)
        let file = try DownloadedFile(path: destination, resource: target.name)
        var offset = file.size
        while true {
            let (response, url) = try await send(target, from: offset)
            let status = Int(response.status.code)
            let decision = ResumeDecision(
                status: status, contentLength: response.headers.first(name: "content-length").flatMap { Int64($0) },
                contentRange: response.headers.first(name: "content-range"), requestedOffset: offset)
            switch decision {
            case .write(let kept, let total):
                if kept > 0 { logger.debug("continuing \(target.name) after \(kept) bytes") }
                try await announceSize(total)
                try file.keep(first: kept)
                try await file.append(response.body, until: total)
                try file.sync()
                return FetchedContent(contentType: response.headers.first(name: "content-type"), bytes: file.size)
            case .complete(let total):
                logger.debug("\(target.name) was already complete (\(total) bytes)")
                try await announceSize(total)
                try file.sync()
                // A 416 describes no content, so it tells no type.
                return FetchedContent(contentType: nil, bytes: total)
            case .startOver where offset > 0:
                logger.debug("\(target.name): the server does not continue at byte \(offset) (HTTP \(status)); starting over")
                offset = 0
            case .startOver, .refused:
                throw refusal(status: status, reason: response.status.reasonPhrase, url: url, target: target)
            }
        }
    }

    /// Where a download starts, with what credential, and what messages call it.
    struct Target {
        var url: String
        var authorization: String?
        var name: String
        var isHuggingFace: Bool
    }

    /// The first request of `source`'s download.
    func request(for source: ResourceSource) throws -> Target {
        switch source.kind {
        case .hf:
            guard let path = HuggingFacePath(source.url) else {
                throw ResourceError(.unavailable, "\(source): not hf://OWNER/REPO[@REVISION]/PATH")
            }
            let url = path.downloadURL(endpoint: environment["HF_ENDPOINT"])
            guard Self.isHTTP(url) else {
                throw ResourceError(.unavailable, "\(source): HF_ENDPOINT gives \(url), not an http(s) URL")
            }
            let token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return Target(url: url, authorization: token.map { "Bearer \($0)" }, name: "HF \(source.url)", isHuggingFace: true)
        case .http:
            guard Self.isHTTP(source.url) else {
                throw ResourceError(.unavailable, "HTTP \(ResourceSource.redacted(source.url)): not an http:// or https:// URL with a host")
            }
            return Target(url: source.url, authorization: nil, name: "HTTP \(ResourceSource.redacted(source.url))", isHuggingFace: false)
        case .s3:
            throw ResourceError(.unavailable, "\(source): an S3 resource, not an HTTP one")
        }
    }

    /// Sends a GET for the bytes from `offset` on, following redirects (the credential only as far
    /// as the first origin); returns the first answer that is not a redirect, and its URL.
    private func send(_ target: Target, from offset: Int64) async throws -> (HTTPClientResponse, url: String) {
        var url = target.url
        var authorization = target.authorization
        for _ in 0...Self.maximumRedirects {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "user-agent", value: "ergon")
            if offset > 0 { request.headers.add(name: "range", value: "bytes=\(offset)-") }
            if let authorization { request.headers.add(name: "authorization", value: authorization) }
            let response = try await execute(request, target: target)
            guard [301, 302, 303, 307, 308].contains(response.status.code) else { return (response, url) }
            guard let location = response.headers.first(name: "location"),
                let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL, Self.isHTTP(next.absoluteString)
            else {
                throw ResourceError(
                    .fetchFailed, "\(target.name): HTTP \(response.status.code) from \(ResourceSource.redacted(url)) redirects to no http(s) URL")
            }
            _ = try? await response.body.collect(upTo: 64 << 10)  // lets the connection be reused
            if authorization != nil, Self.origin(of: next) != URL(string: url).flatMap(Self.origin) {
                authorization = nil  // the token is for Hugging Face, not for its CDN
            }
            logger.debug("\(target.name): redirected to \(ResourceSource.redacted(next.absoluteString))")
            url = next.absoluteString
        }
        throw ResourceError(.fetchFailed, "\(target.name): more than \(Self.maximumRedirects) redirects, the last to \(ResourceSource.redacted(url))")
    }

    /// Sends one request; a failure without an answer is `.fetchFailed`.
    private func execute(_ request: HTTPClientRequest, target: Target) async throws -> HTTPClientResponse {
        do {
            let (seconds, attoseconds) = responseTimeout.components
            let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            return try await http.execute(request, timeout: timeout, logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ResourceError(.fetchFailed, "\(target.name): \(ResourceSource.redacted(request.url)): \(TransferFailure.describe(error))")
        }
    }

    /// The error an answer without content means.
    private func refusal(status: Int, reason: String, url: String, target: Target) -> ResourceError {
        var message = "\(target.name): HTTP \(status) \(reason) from \(ResourceSource.redacted(url))"
        let permanent: Bool
        switch status {
        case 401, 403:
            permanent = true
            if target.isHuggingFace {
                message += target.authorization == nil
                    ? " (a gated or private repository needs HF_TOKEN in the agent's environment)"
                    : " (check that HF_TOKEN may read this repository)"
            }
        case 404, 410:
            permanent = true
            if target.isHuggingFace { message += " (check the repository, the revision and the path)" }
        case 408, 429:
            permanent = false
        case 400..<500:
            permanent = true
        default:
            permanent = false
        }
        return ResourceError(permanent ? .unavailable : .fetchFailed, message)
    }

    /// True for an `http://` or `https://` URL with a host.
    static func isHTTP(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return false }
        return scheme == "http" || scheme == "https"
    }

    /// Scheme, host and port: where a credential may go.
    static func origin(of url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
        return "\(scheme)://\(host):\(url.port ?? (scheme == "https" ? 443 : 80))"
    }
}
