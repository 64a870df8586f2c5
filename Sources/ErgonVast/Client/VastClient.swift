import AsyncHTTPClient
import ErgonCore
import Foundation
import Logging
import NIOCore
import Synchronization

/// A client for the Vast.ai REST API: offers, instances, logs.
///
/// Every call authenticates with `Authorization: Bearer` (the key never goes into a URL, a log line
/// or an error), has a deadline covering its whole answer (``VastRetryPolicy/requestTimeout``), and
/// has its answer judged by ``VastResponseClassifier``. Idempotent calls are resent on rate limits,
/// 5xx, transport failures and timeouts as ``VastRetryPolicy`` allows; a create never is.
///
/// The `HTTPClient` should not follow redirects (AsyncHTTPClient would carry the `Authorization`
/// header to another host): use ``httpConfiguration`` or ``withClient(baseURL:apiKey:retry:logger:clock:_:)``.
public struct VastClient: Sendable {
    /// Vast's public API.
    public static let defaultBaseURL = URL(string: "https://console.vast.ai")!
    /// The largest answer read (a search of a few hundred offers is a few MB).
    static let maximumAnswerSize = 64 * 1024 * 1024
    /// How much later than AsyncHTTPClient's own deadline the client's whole-answer deadline fires:
    /// enough for AsyncHTTPClient's reason (a refused connection) to arrive first on a loaded machine.
    static let deadlineMargin: Duration = .seconds(2)

    /// Where the API is (`https://console.vast.ai`, or a simulator).
    public let baseURL: URL
    /// How hard calls try.
    public let retry: VastRetryPolicy
    let apiKey: VastAPIKey
    let http: HTTPClient
    let logger: Logger
    let clock: any Clock<Duration>
    private let base: String

    /// A client using an `HTTPClient` the caller owns and shuts down.
    ///
    /// `clock` paces resends and log polling; request deadlines run on the HTTP client's event loop.
    public init(
        baseURL: URL, apiKey: String, httpClient: HTTPClient, retry: VastRetryPolicy = .standard,
        logger: Logger = Logger(label: "ergon.vast"), clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.baseURL = baseURL
        self.apiKey = VastAPIKey(apiKey)
        self.http = httpClient
        self.retry = retry
        self.logger = logger
        self.clock = clock
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    /// The `HTTPClient` configuration the client is meant for: no redirects, a 10 s connect timeout, no connection retries of its own,
    /// no read timeout (requests carry their own deadlines).
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.redirectConfiguration = .disallow
        // A refused connection fails at once: the client's own retry policy decides whether
        // to try again, so an unreachable API is reported in a second, not after the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Lends a client with its own `HTTPClient` for the duration of `body`, and always shuts it down.
    public static func withClient<Result: Sendable>(
        baseURL: URL = defaultBaseURL, apiKey: String, retry: VastRetryPolicy = .standard,
        logger: Logger = Logger(label: "ergon.vast"), clock: any Clock<Duration> = ContinuousClock(),
        _ body: (VastClient) async throws -> Result
    ) async throws -> Result {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let client = VastClient(baseURL: baseURL, apiKey: apiKey, httpClient: http, retry: retry, logger: logger, clock: clock)
        let result: Result
        do {
            result = try await body(client)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return result
    }

    // MARK: - Performing calls

    /// Sends `call` until it succeeds or the policy gives up, and returns its JSON answer.
    func perform(_ call: VastCall) async throws -> JSONValue {
        var attempt = 1
        while true {
            let outcome: Result<JSONValue, VastError>
            do {
                let response = try await exchange(authorizedRequest(for: call), call: call)
                outcome = VastResponseClassifier.classify(response, call: call, now: Date())
            } catch let error as VastError {
                outcome = .failure(error)
            }
            ErgonMetrics.vastCall(endpoint: call.operation.metricLabel, failure: outcome.failure?.kind.metricLabel)
            switch outcome {
            case .success(let json):
                logger.debug("vast call succeeded", metadata: ["call": "\(call.label)", "attempt": "\(attempt)"])
                return json
            case .failure(let failure):
                let error = failure.redacting(apiKey.value)
                guard call.isIdempotent, let wait = retry.delay(after: error, attempt: attempt) else {
                    logger.debug("vast call failed", metadata: ["call": "\(call.label)", "error": "\(error)"])
                    throw attempt > 1 ? error.afterTries(attempt) : error
                }
                logger.notice(
                    "vast call failed; trying again",
                    metadata: ["call": "\(call.label)", "attempt": "\(attempt)", "wait": "\(wait)", "error": "\(error)"])
                try await clock.sleep(for: wait)
                attempt += 1
            }
        }
    }

    /// A failure classified in the client itself (an answer whose content is unusable).
    func malformed(_ call: VastCall, _ problem: String) -> VastError {
        VastError(kind: .malformed, message: "\(call.label): \(problem)").redacting(apiKey.value)
    }

    /// The HTTP request for `call`: the base URL, the path and query, the bearer token, the JSON body.
    func authorizedRequest(for call: VastCall) -> HTTPClientRequest {
        var url = base + call.path
        if !call.query.isEmpty {
            url += "?" + call.query.map { "\(Self.percentEncode($0.name))=\(Self.percentEncode($0.value))" }
                .joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        switch call.method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        case .PUT: request.method = .PUT
        case .DELETE: request.method = .DELETE
        }
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey.value)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ergon-vast")
        if let body = call.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.encoded()))
        }
        return request
    }

    /// Sends one request and reads its whole answer within ``VastRetryPolicy/requestTimeout``.
    /// Throws only ``VastError`` (`.timeout`, `.transport`, `.malformed` for an oversized answer)
    /// or `CancellationError`.
    func exchange(_ request: HTTPClientRequest, call: VastCall) async throws -> VastHTTPResponse {
        let timeout = retry.requestTimeout
        let http = self.http
        let logger = self.logger
        do {
            // AsyncHTTPClient's deadline (the head) fires first, so its reason wins: when the server
            // refuses connections the pool retries until then and reports the last connection error.
            // Ours, a moment later, also covers the body.
            return try await withDeadline(timeout + Self.deadlineMargin, call: call) {
                let response = try await http.execute(request, timeout: TimeAmount(timeout), logger: logger)
                let body = try await response.body.collect(upTo: Self.maximumAnswerSize)
                return VastHTTPResponse(
                    status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                    retryAfter: response.headers.first(name: "Retry-After"), body: Array(body.readableBytesView))
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if error is NIOTooManyBytesError {
                throw malformed(call, "the answer is larger than \(Self.maximumAnswerSize) bytes")
            }
            throw VastResponseClassifier.transportFailure(error, call: call).redacting(apiKey.value)
        }
    }

    /// Runs `body`, throwing `.timeout` when it outlasts `timeout`.
    ///
    /// The deadline is a timer on the HTTP client's event loop that cancels the task reading
    /// the answer, rather than a sleeping child task per call, whose dispatch timer was set and
    /// torn down on libdispatch's timer thread a hundred times a tick at 1000 instances.
    private func withDeadline<T: Sendable>(
        _ timeout: Duration, call: VastCall, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let expired = DeadlineFlag()
        let work = Task { try await body() }
        let timer = http.eventLoopGroup.any().scheduleTask(in: TimeAmount(timeout)) {
            expired.set()
            work.cancel()
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await work.value
            } onCancel: {
                work.cancel()
            }
        } catch {
            guard !Task.isCancelled, expired.isSet else { throw error }
            throw VastError(kind: .timeout, message: "\(call.label): no complete answer within \(timeout)")
        }
    }

    /// Percent-encodes a query component (everything but RFC 3986's unreserved characters).
    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Set once, by a deadline's timer, read by the call it ended.
private final class DeadlineFlag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

extension VastError.Kind {
    /// The `kind` label of the Vast error metric: the kind without its details.
    var metricLabel: String {
        switch self {
        case .auth: return "auth"
        case .rateLimited: return "rate_limited"
        case .offerGone: return "offer_gone"
        case .notFound: return "not_found"
        case .server: return "server"
        case .rejected: return "rejected"
        case .malformed: return "malformed"
        case .timeout: return "timeout"
        case .transport: return "transport"
        }
    }
}

extension Result {
    /// The error of a failure; nil for a success.
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
