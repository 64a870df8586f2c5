import Synchronization

/// Counts what a client sent: requests and body bytes (resends included), for the log store's
/// cost figures and the benchmarks.
public final class S3TransferStatistics: Sendable {
    private let requests = Atomic<Int>(0)
    private let bodyBytes = Atomic<Int64>(0)

    public init() {}

    /// Requests sent, resends included.
    public var requestsSent: Int { requests.load(ordering: .relaxed) }
    /// Body bytes sent, resends included.
    public var bodyBytesSent: Int64 { bodyBytes.load(ordering: .relaxed) }

    func record(bodyBytes count: Int64) {
        requests.add(1, ordering: .relaxed)
        bodyBytes.add(count, ordering: .relaxed)
    }
}
