import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// A client for the Docker Engine API over its unix socket.
///
/// It speaks the highest API version both sides know (the engine's `ApiVersion`, capped at
/// ``maximumAPIVersion``), negotiated with `GET /version` on first use. Every request carries
/// `Host: localhost` (AsyncHTTPClient sends none on unix sockets and the engine wants one) and a
/// deadline of its own covering the whole body, since AsyncHTTPClient's covers only the head.
public struct DockerEngineClient: Sendable {
    /// The highest Engine API version this client speaks.
    public static let maximumAPIVersion = DockerAPIVersion(major: 1, minor: 45)
    /// The deadline of an ordinary request (head and body).
    public static let defaultTimeout: Duration = .seconds(30)

    /// The engine's socket path.
    public let socketPath: String
    let http: HTTPClient
    let logger: Logger
    private let negotiated: APIVersionCache
    private let base: String

    /// A client using an `HTTPClient` the caller owns and shuts down.
    public init(socketPath: String, httpClient: HTTPClient, logger: Logger = Logger(label: "ergon.docker")) {
        self.socketPath = socketPath
        self.http = httpClient
        self.logger = logger
        self.negotiated = APIVersionCache()
        let host = socketPath.addingPercentEncoding(withAllowedCharacters: .urlHostAllowed) ?? socketPath
        self.base = "http+unix://\(host)"
    }

    /// A client with its own `HTTPClient`; call ``shutdown()`` when done with it.
    public init(socketPath: String, logger: Logger = Logger(label: "ergon.docker")) {
        self.init(socketPath: socketPath, httpClient: HTTPClient(configuration: Self.httpConfiguration), logger: logger)
    }

    /// Shuts down the underlying `HTTPClient` (only for clients made with `init(socketPath:logger:)`).
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Lends a client for the duration of `body` and always shuts its `HTTPClient` down afterwards.
    public static func withClient<Result: Sendable>(
        socketPath: String, logger: Logger = Logger(label: "ergon.docker"),
        _ body: (DockerEngineClient) async throws -> Result
    ) async throws -> Result {
        let client = DockerEngineClient(socketPath: socketPath, logger: logger)
        let result: Result
        do {
            result = try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return result
    }

    /// No read timeout: log and event streams stay quiet for long stretches; requests carry deadlines instead.
    static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        configuration.redirectConfiguration = .disallow
        return configuration
    }

    // MARK: - Version

    /// The API version requests use, negotiating it with the engine on first use.
    public func apiVersion() async throws -> DockerAPIVersion {
        try await negotiated.value {
            let info = try await self.version()
            guard let server = DockerAPIVersion(info.apiVersion) else {
                throw DockerEngineError(
                    code: .malformed, message: "the engine reports API version \"\(info.apiVersion)\"",
                    request: "GET /version")
            }
            return min(server, Self.maximumAPIVersion)
        }
    }

    /// `GET /_ping`: true when the engine answers `OK`.
    public func ping(timeout: Duration = .seconds(5)) async throws {
        let response = try await send(.GET, "/_ping", versioned: false, timeout: timeout)
        try response.expect(200)
    }

    /// `GET /version` (unversioned, so it works before negotiation).
    public func version() async throws -> DockerAPI.VersionInfo {
        let response = try await send(.GET, "/version", versioned: false)
        try response.expect(200)
        return try response.decode(DockerAPI.VersionInfo.self)
    }

    // MARK: - Requests

    /// The HTTP methods the Engine API uses here.
    enum Method: String, Sendable {
        case GET, POST, DELETE
    }

    /// A complete answer of the engine.
    struct Response: Sendable {
        var status: Int
        /// The `Content-Type` header, when the engine sent one.
        var contentType: String?
        var body: [UInt8]
        var request: String

        /// Throws the engine's error unless the status is one of `accepted`.
        func expect(_ accepted: Int...) throws {
            guard accepted.contains(status) else {
                throw DockerEngineError(
                    code: .status, status: status, message: DockerEngineError.engineMessage(from: body),
                    request: request)
            }
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do {
                return try JSONDecoder().decode(type, from: Data(body))
            } catch {
                throw DockerEngineError(
                    code: .malformed, status: status, message: "unreadable answer (\(error))", request: request)
            }
        }
    }

    /// Sends one request and reads its whole answer within `timeout`.
    func send(
        _ method: Method, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil, versioned: Bool = true, timeout: Duration = Self.defaultTimeout
    ) async throws -> Response {
        let request = try await makeRequest(method, path, query: query, headers: headers, body: body, versioned: versioned)
        let label = "\(method.rawValue) \(path)"
        // AsyncHTTPClient's own deadline (the head) fires first, so its reason (the last connection
        // error, when the socket refuses) wins over our coarser one (head and body).
        return try await withDeadline(timeout + .seconds(2), request: label) {
            let response = try await self.execute(request, label: label, timeout: timeout)
            var collected: [UInt8] = []
            do {
                for try await chunk in response.body {
                    collected.append(contentsOf: chunk.readableBytesView)
                }
            } catch {
                throw Self.transportError(error, request: label)
            }
            return Response(
                status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                body: collected, request: label)
        }
    }

    /// Sends one request and hands its body to `consume` chunk by chunk, with no deadline on the body
    /// (log and event streams). Error statuses are read whole and thrown.
    func stream(
        _ method: Method, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil, headTimeout: Duration = Self.defaultTimeout,
        onHead: () async throws -> Void = {},
        consume: (_ chunk: ByteBuffer) async throws -> Void
    ) async throws {
        let request = try await makeRequest(method, path, query: query, headers: headers, body: body, versioned: true)
        let label = "\(method.rawValue) \(path)"
        let response = try await execute(request, label: label, timeout: headTimeout)
        if response.status.code >= 300 {
            var collected: [UInt8] = []
            for try await chunk in response.body {
                collected.append(contentsOf: chunk.readableBytesView)
                if collected.count > 64 * 1024 { break }
            }
            throw DockerEngineError(
                code: .status, status: Int(response.status.code),
                message: DockerEngineError.engineMessage(from: collected), request: label)
        }
        try await onHead()
        do {
            for try await chunk in response.body {
                try await consume(chunk)
            }
        } catch let error as DockerEngineError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.transportError(error, request: label)
        }
    }

    private func makeRequest(
        _ method: Method, _ path: String, query: [(String, String)], headers: [(String, String)],
        body: [UInt8]?, versioned: Bool
    ) async throws -> HTTPClientRequest {
        // A missing socket would only surface once the connection pool gives up retrying at the deadline.
        guard FileManager.default.fileExists(atPath: socketPath) else {
            throw DockerEngineError(
                code: .unreachable, message: "no such socket file", request: "\(method.rawValue) \(path)")
        }
        let prefix = versioned ? "/v\(try await apiVersion())" : ""
        var url = base + prefix + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        switch method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        case .DELETE: request.method = .DELETE
        }
        request.headers.add(name: "Host", value: "localhost")
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    private func execute(_ request: HTTPClientRequest, label: String, timeout: Duration) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: TimeAmount(timeout), logger: logger)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw DockerEngineError(code: .timedOut, message: "no answer within \(timeout)", request: label)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.transportError(error, request: label)
        }
    }

    private static func transportError(_ error: any Error, request: String) -> DockerEngineError {
        if let error = error as? DockerEngineError { return error }
        if let error = error as? IOError {
            return DockerEngineError(code: .unreachable, message: Self.describe(errno: error.errnoCode), request: request)
        }
        return DockerEngineError(code: .unreachable, message: String(describing: error), request: request)
    }

    private static func describe(errno code: CInt) -> String {
        String(cString: strerror(code))
    }

    /// Runs `body`, throwing `.timedOut` when it outlasts `timeout`.
    func withDeadline<T: Sendable>(
        _ timeout: Duration, request: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DockerEngineError(code: .timedOut, message: "no complete answer within \(timeout)", request: request)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Percent-encodes a query component (everything but RFC 3986's unreserved characters).
    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Percent-encodes a path segment that may hold `/` and `:` (image references).
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~/:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// JSON for a request body.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Remembers the negotiated API version; shared by every copy of a client.
private actor APIVersionCache {
    private var version: DockerAPIVersion?

    func value(_ negotiate: @Sendable () async throws -> DockerAPIVersion) async throws -> DockerAPIVersion {
        if let version { return version }
        let negotiated = try await negotiate()
        version = negotiated
        return negotiated
    }
}
