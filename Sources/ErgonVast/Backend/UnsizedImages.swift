import Synchronization

/// Images whose registry could not give a size lately, so the `effective_cost` ranking does
/// not ask again for ``retryAfter``: a registry that is down, or a name no registry serves,
/// costs one failed lookup per image and period, not one per launch. Copies share the record.
final class UnsizedImages: Sendable {
    /// How long a failed lookup is trusted.
    static let retryAfter: Duration = .seconds(600)
    private let failures = Mutex<[String: ContinuousClock.Instant]>([:])

    /// True when `image`'s size should be asked of its registry now.
    func shouldAsk(_ image: String, now: ContinuousClock.Instant = .now) -> Bool {
        failures.withLock { failures in
            guard let failed = failures[image] else { return true }
            if now - failed < Self.retryAfter { return false }
            failures[image] = nil
            return true
        }
    }

    /// Records that `image`'s registry gave no size.
    func noteFailure(_ image: String, now: ContinuousClock.Instant = .now) {
        failures.withLock { $0[image] = now }
    }
}
