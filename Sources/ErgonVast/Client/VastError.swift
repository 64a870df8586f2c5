import Foundation

/// A failed Vast API call: what kind of failure, which call, the HTTP status and the API's own words.
///
/// Made in one place, ``VastResponseClassifier``, for every call. The message never holds the
/// account's API key: the client removes it from anything the server echoes back.
public struct VastError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as far as a caller needs to decide what to do next.
    public enum Kind: Sendable, Hashable {
        /// The key was refused (401, 403, or Vast's `auth_error`, which it often sends as a 404).
        case auth
        /// Too many requests (429); `retryAfter` is the server's `Retry-After` in seconds, when it sent one.
        case rateLimited(retryAfter: Double?)
        /// The offer was taken or withdrawn between search and create (`no_such_ask`, 404 or 410): try the next one.
        case offerGone
        /// The object does not exist (404 `not_found`, other 404s, 410).
        case notFound
        /// The server failed (5xx).
        case server(status: Int)
        /// The server refused the request itself (another 4xx, such as 400 for invalid arguments):
        /// repeating it unchanged cannot help.
        case rejected(status: Int)
        /// The answer is not what the API documents: not JSON, wrong Content-Type, a required field
        /// missing, or `"success": false` with no known error code.
        case malformed
        /// No complete answer within the client's deadline (the outcome of a write is then unknown).
        case timeout
        /// The request could not be sent or its answer not read (connection refused, reset, DNS).
        case transport
    }

    /// What went wrong.
    public var kind: Kind
    /// What happened: the call, the HTTP status and the API's `msg`.
    public var message: String
    /// The instance a create made even though it answered with an error (`new_contract` in an error
    /// body): the caller owns it and must destroy it.
    public var strayInstanceID: Int?
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// The API's error code (`"error"` in the body: `auth_error`, `no_such_ask`, `not_found`, …).
    public var apiError: String?

    /// Creates an error; normally made by ``VastResponseClassifier``.
    public init(kind: Kind, message: String, strayInstanceID: Int? = nil, status: Int? = nil, apiError: String? = nil) {
        self.kind = kind
        self.message = message
        self.strayInstanceID = strayInstanceID
        self.status = status
        self.apiError = apiError
    }

    /// True when the same request may succeed if sent again later: rate limits (except the daily
    /// search quota), 500/502/503/504, transport failures and timeouts.
    ///
    /// Whether the client does resend is decided by the call (a create is never resent) and by
    /// ``VastRetryPolicy``.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited: return apiError != "search_quota_exceeded"
        case .server(let status): return [500, 502, 503, 504].contains(status)
        case .transport, .timeout: return true
        case .auth, .offerGone, .notFound, .rejected, .malformed: return false
        }
    }

    /// The message, plus the stray instance when there is one.
    public var description: String {
        var text = message
        if let strayInstanceID { text += " (instance \(strayInstanceID) was created anyway)" }
        return text
    }

    /// The error with every occurrence of `secret` in its text replaced.
    func redacting(_ secret: String) -> VastError {
        guard !secret.isEmpty else { return self }
        var copy = self
        copy.message = message.replacingOccurrences(of: secret, with: "<redacted>")
        copy.apiError = apiError?.replacingOccurrences(of: secret, with: "<redacted>")
        return copy
    }

    /// The error, saying how many tries were made before giving up.
    func afterTries(_ tries: Int) -> VastError {
        var copy = self
        copy.message += " (gave up after \(tries) tries)"
        return copy
    }
}
