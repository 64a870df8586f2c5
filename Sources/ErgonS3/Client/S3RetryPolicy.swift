import Foundation

/// How hard the S3 client tries: resends on 5xx, `SlowDown`, timeouts and connection errors,
/// with exponential backoff and jitter, and the deadline of one request.
public struct S3RetryPolicy: Sendable, Equatable {
    /// Tries of one call in all, the first included.
    public var attempts: Int
    /// The wait before the first resend.
    public var initialDelay: Duration
    /// The longest wait between two tries.
    public var maxDelay: Duration
    /// The deadline of one try, from sending the request to the end of its answer. Large
    /// bodies get more: one second per `minimumThroughput` bytes on top.
    public var requestTimeout: Duration
    /// The slowest transfer (bytes per second) a large body is given time for.
    public var minimumThroughput: Int

    /// Creates a policy.
    public init(
        attempts: Int = 5, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5),
        requestTimeout: Duration = .seconds(30), minimumThroughput: Int = 1 << 20
    ) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.requestTimeout = requestTimeout
        self.minimumThroughput = max(1, minimumThroughput)
    }

    /// Five tries over about three seconds, 30 s per request.
    public static let standard = S3RetryPolicy()

    /// One try: for callers that retry on their own schedule, or that only probe (the agent start check).
    public static let once = S3RetryPolicy(attempts: 1)

    /// The wait after try number `attempt` (1 for the first) failed with `error`, or nil to give up.
    func delay(after error: S3Error, attempt: Int) -> Duration? {
        guard error.isRetryable, attempt < attempts else { return nil }
        let base = initialDelay * Int(1 << min(attempt - 1, 16))
        let capped = min(base, maxDelay)
        // Full jitter halves the mean wait and spreads agents that failed together.
        let fraction = Double.random(in: 0.5...1)
        return capped * fraction
    }

    /// The deadline of a try carrying `bodySize` bytes.
    func timeout(bodySize: Int64) -> Duration {
        requestTimeout + .seconds(Double(bodySize) / Double(minimumThroughput))
    }
}
