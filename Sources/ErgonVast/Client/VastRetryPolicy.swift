import Foundation

/// How hard the client tries: resends of idempotent calls, the wait between them, polling for logs,
/// and the deadline of one request.
///
/// ``standard`` is what the official CLI does: 3 attempts, waits of 0.15 s growing ×1.5, the
/// server's `Retry-After` honoured up to 60 s (a longer one ends the call), and logs polled 30
/// times 0.3 s apart.
public struct VastRetryPolicy: Sendable, Equatable {
    /// Tries of an idempotent call in all, the first included (a create is only ever tried once).
    public var attempts: Int
    /// The wait before the first resend when the server gave no `Retry-After`.
    public var initialDelay: Duration
    /// Each further wait is the one before times this.
    public var multiplier: Double
    /// The longest `Retry-After` waited out; a longer one is returned to the caller as `.rateLimited`.
    public var maxRetryAfter: Duration
    /// How many times a log's `result_url` is fetched before giving up.
    public var logPollAttempts: Int
    /// The wait before each fetch of a log's `result_url`.
    public var logPollDelay: Duration
    /// The deadline of one request, from sending it to the end of its answer's head (the whole
    /// answer has half a second more). A server that refuses connections is retried by the
    /// connection pool until this deadline, then reported as `.transport`.
    public var requestTimeout: Duration

    /// Creates a policy.
    public init(
        attempts: Int = 3, initialDelay: Duration = .milliseconds(150), multiplier: Double = 1.5,
        maxRetryAfter: Duration = .seconds(60), logPollAttempts: Int = 30, logPollDelay: Duration = .milliseconds(300),
        requestTimeout: Duration = .seconds(60)
    ) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxRetryAfter = maxRetryAfter
        self.logPollAttempts = max(1, logPollAttempts)
        self.logPollDelay = logPollDelay
        self.requestTimeout = requestTimeout
    }

    /// The official CLI's behaviour, with a 60 s deadline per request.
    public static let standard = VastRetryPolicy()

    /// The wait before trying again after `error` ended try number `attempt` (1 for the first) of
    /// an idempotent call, or nil to give up: the error is not retryable, the tries are used up, or
    /// the server asked for a longer wait than ``maxRetryAfter``.
    public func delay(after error: VastError, attempt: Int) -> Duration? {
        guard error.isRetryable, attempt < attempts else { return nil }
        if case .rateLimited(let retryAfter?) = error.kind {
            let wait = Duration.seconds(retryAfter)
            return wait <= maxRetryAfter ? wait : nil
        }
        return backoff(attempt: attempt)
    }

    /// The wait after try number `attempt` when the server named none: `initialDelay × multiplier^(attempt-1)`.
    public func backoff(attempt: Int) -> Duration {
        let (whole, attoseconds) = initialDelay.components
        let initial = Double(whole) + Double(attoseconds) / 1e18
        let seconds = initial * pow(multiplier, Double(max(0, attempt - 1)))
        // Whole nanoseconds, so 0.15 × 1.5 is exactly 225 ms rather than a hair under.
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
