import AsyncHTTPClient
import Crypto
import ErgonCore
import Foundation
import Logging
import NIOCore

/// One lookup's conversation with a registry (Docker Registry HTTP API v2): the manifest, the
/// linux/amd64 manifest when that was an index, then the configuration blob. The authorization
/// earned from the first challenge is kept for the lookup's later requests.
struct RegistrySession {
    /// The largest manifest or configuration read.
    static let maximumDocumentSize = 8 * 1024 * 1024
    /// Blob storage may redirect once or twice; more is a loop.
    static let maximumRedirects = 5
    /// Vast instances are linux/amd64.
    static let platform = (os: "linux", architecture: "amd64")

    /// An answer read whole.
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
    }

    let http: HTTPClient
    let reference: ImageReference
    /// The entry of `vast_api.registries` for the reference's registry, if any.
    let credentials: ErgonConfig.RegistryAuth?
    /// The deadline of each request's answer head.
    let requestTimeout: Duration
    let logger: Logger
    /// `Authorization` for the registry, once a challenge said how.
    var authorization: String?
    /// Called after each answer's head arrives (the layer reading's watchdog counts it as progress).
    var onAnswer: (@Sendable () -> Void)?

    /// The linux/amd64 image's manifest, as ``platformManifest()`` reads it.
    enum PlatformManifest {
        /// The digest of its bytes (what a tag named when read), its configuration blob and layers.
        case image(digest: String, configDigest: String, layers: [RegistryManifest.Layer])
        /// A Docker schema 1 manifest, which carries the configuration but no layer list read here.
        case legacy(ImageLaunchConfig)
    }

    /// Reads the image's entrypoint, Cmd and working directory, and its compressed size.
    mutating func launchConfig() async throws -> ImageLaunchConfig {
        switch try await platformManifest() {
        case .image(_, let configDigest, let layers):
            let blob = try await get("/blobs/\(configDigest)", accept: ["application/json", "*/*"], what: "configuration blob \(configDigest)")
            var config = try ImageLaunchConfig(configBlob: blob.body, describing: "\(reference) (configuration \(configDigest))")
            config.compressedBytes = RegistryManifest.compressedBytes(of: layers)
            return config
        case .legacy(let config):
            return config
        }
    }

    /// The manifest of the reference's linux/amd64 image, through an index when there is one.
    mutating func platformManifest() async throws -> PlatformManifest {
        var manifest = reference.manifestReference
        // An index names one manifest per platform; an index inside an index is not followed further.
        for _ in 0..<2 {
            let answer = try await get("/manifests/\(manifest)", accept: RegistryManifest.acceptedTypes, what: "manifest \(manifest)")
            let what = "\(reference) (manifest \(manifest))"
            switch try RegistryManifest(body: answer.body, contentType: answer.header("Content-Type").first, describing: what) {
            case .index(let entries):
                manifest = try RegistryManifest.digest(
                    in: entries, os: Self.platform.os, architecture: Self.platform.architecture, describing: "\(reference)")
            case .image(let configDigest, let layers):
                // The digest of the bytes read, which name these layers whatever the registry's headers say.
                let digest = "sha256:" + SHA256.hash(data: answer.body).map { String(format: "%02x", $0) }.joined()
                return .image(digest: digest, configDigest: configDigest, layers: layers)
            case .legacy(let config):
                return .legacy(config)
            }
        }
        throw RegistryError(.malformed, "\(reference): the index for linux/amd64 names another index")
    }

    /// Opens blob `digest` for reading as it arrives. Its answer head comes within the request
    /// timeout; the body has no deadline of its own (the caller watches its progress).
    mutating func openBlob(_ digest: String) async throws -> HTTPClientResponse.Body {
        let exchange = try await exchange("/blobs/\(digest)", accept: ["*/*"], what: "layer \(digest)", streaming: true)
        guard let body = exchange.stream else { throw RegistryError(.malformed, "\(reference): layer \(digest) came without a body") }
        return body
    }

    /// GETs `/v2/<repository><path>`, answering one authentication challenge and following
    /// redirects (to blob storage, which gets no `Authorization`). Returns only a 2xx answer.
    mutating func get(_ path: String, accept: [String], what: String) async throws -> Answer {
        try await exchange(path, accept: accept, what: what, streaming: false).answer
    }

    /// What ``get(_:accept:what:)`` does; with `streaming`, a 2xx answer's body is left unread in `stream`.
    private mutating func exchange(
        _ path: String, accept: [String], what: String, streaming: Bool
    ) async throws -> (answer: Answer, stream: HTTPClientResponse.Body?) {
        let registryURL = reference.baseURL + "/v2/" + reference.repository + path
        var url = registryURL
        var redirects = 0
        var challenged = false
        while true {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: accept.joined(separator: ", "))
            request.headers.add(name: "User-Agent", value: "ergon")
            let onRegistry = Self.origin(of: url) == Self.origin(of: registryURL)
            if onRegistry, let authorization {
                request.headers.add(name: "Authorization", value: authorization)
            }
            let (answer, stream) = try await send(request, host: Self.origin(of: url) ?? url, streaming: streaming)
            onAnswer?()
            switch answer.status {
            case 200..<300:
                return (answer, stream)
            case 301, 302, 303, 307, 308:
                guard redirects < Self.maximumRedirects, let location = answer.header("Location").first,
                      let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL.absoluteString
                else {
                    throw RegistryError(.malformed, "\(reference): GET \(what) was redirected too often or without a Location")
                }
                redirects += 1
                url = next
            case 401 where onRegistry && !challenged:
                challenged = true
                authorization = try await authorize(after: answer)
            case 401, 403:
                throw refusal(answer, what: what)
            case 404:
                throw RegistryError(.notFound, "\(reference): \(reference.registry) has no \(what)\(Self.registryErrors(answer))")
            case 429, 500...:
                throw RegistryError(.unreachable, "\(reference): \(reference.registry) answered \(answer.status) to GET \(what)\(Self.registryErrors(answer))")
            default:
                throw RegistryError(.malformed, "\(reference): \(reference.registry) answered \(answer.status) to GET \(what)\(Self.registryErrors(answer))")
            }
        }
    }

    /// The error for a registry that still refuses, with what to do about it.
    func refusal(_ answer: Answer, what: String) -> RegistryError {
        let detail = Self.registryErrors(answer)
        if credentials != nil {
            return RegistryError(
                .unauthorized,
                "\(reference): \(reference.registry) refused the credentials vast_api.registries gives for it (\(answer.status) to GET \(what))\(detail)")
        }
        return RegistryError(
            .unauthorized,
            "\(reference): \(reference.registry) refused anonymous access (\(answer.status) to GET \(what))\(detail); "
                + "add credentials for host \(reference.registry) to vast_api.registries")
    }

    /// Sends one request and reads its whole answer, or with `streaming`, only the head of a
    /// 2xx answer (AsyncHTTPClient's deadline covers only the head then); only `RegistryError`
    /// or `CancellationError` escape.
    func send(
        _ request: HTTPClientRequest, host: String, streaming: Bool = false
    ) async throws -> (answer: Answer, stream: HTTPClientResponse.Body?) {
        do {
            let response = try await http.execute(request, timeout: TimeAmount(requestTimeout), logger: logger)
            let head = (status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
            if streaming, (200..<300).contains(head.status) {
                return (Answer(status: head.status, headers: head.headers, body: []), response.body)
            }
            let body = try await response.body.collect(upTo: Self.maximumDocumentSize)
            return (Answer(status: head.status, headers: head.headers, body: Array(body.readableBytesView)), nil)
        } catch {
            throw Self.failure(error, reference: reference, host: host, timeout: requestTimeout)
        }
    }

    /// The ``RegistryError`` for what a request or the reading of its body threw.
    static func failure(_ error: any Error, reference: ImageReference, host: String, timeout: Duration) -> any Error {
        if Task.isCancelled || error is CancellationError { return CancellationError() }
        if error is RegistryError { return error }
        if error is NIOTooManyBytesError {
            return RegistryError(.malformed, "\(reference): \(host) answered more than \(maximumDocumentSize) bytes")
        }
        if let failure = error as? HTTPClientError, [.deadlineExceeded, .readTimeout, .connectTimeout].contains(failure) {
            return RegistryError(.timeout, "\(reference): \(host) gave no answer within \(timeout)")
        }
        return RegistryError(.unreachable, "\(reference): cannot reach \(host): \(error)")
    }

    /// `scheme://host:port` of a URL, to tell the registry from blob storage.
    static func origin(of url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host?.lowercased() else { return nil }
        return "\(scheme)://\(host)" + (parsed.port.map { ":\($0)" } ?? "")
    }

    /// The registry's own error codes (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`), as `: CODE (message)`.
    static func registryErrors(_ answer: Answer) -> String {
        guard let errors = (try? JSONValue.decode(Data(answer.body)))?["errors"]?.arrayValue else { return "" }
        let parts = errors.prefix(3).compactMap { error -> String? in
            guard let code = error["code"]?.stringValue else { return nil }
            return error["message"]?.stringValue.map { "\(code) (\($0))" } ?? code
        }
        return parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
    }
}

extension Array where Element == ErgonConfig.RegistryAuth {
    /// The entry of `vast_api.registries` for `reference`'s registry, if any.
    func credentials(for reference: ImageReference) -> ErgonConfig.RegistryAuth? {
        first { ImageReference.canonicalRegistry($0.host) == reference.registry }
    }
}
