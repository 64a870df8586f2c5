import ErgonCore
import Foundation

/// The rule that keeps an order off a host that leaves before the task can end: an offer
/// whose `duration` (seconds the host stays available) is shorter than the task's timeout
/// plus `vast_api.lifetime_margin` is never chosen.
///
/// The floor goes into the search itself (``searchFilter``): asked only for its cheapest offers,
/// a search whose first page holds nothing but short-lived hosts would otherwise find nothing
/// although longer-lived ones exist further down the price list. It is checked again locally
/// (``allows(_:)``), like every other term, because the API's answer is not trusted.
///
/// Locally, an offer without a `duration` is kept: Vast sends one with every offer, so a missing
/// one says nothing about the host. (An API that evaluates the search term leaves such offers
/// out itself, as it does for any term on a missing field.)
public struct OfferLifetime: Sendable, Equatable, Encodable {
    /// `vast_api.lifetime_margin`'s default: one hour.
    public static let defaultMargin: TimeInterval = 3600

    /// The task's run deadline, in seconds (its `timeout`, else `scheduler.default_timeout`).
    public var timeout: TimeInterval
    /// `vast_api.lifetime_margin`, in seconds: room for provisioning and the end of the run.
    public var margin: TimeInterval

    public init(timeout: TimeInterval, margin: TimeInterval = Self.defaultMargin) {
        self.timeout = timeout
        self.margin = margin
    }

    /// The rule for a task that runs at most `timeout` seconds, with `vast_api.lifetime_margin`.
    public init(timeout: TimeInterval, settings: ErgonConfig.Vast) {
        self.init(timeout: timeout, margin: settings.lifetimeMargin.seconds)
    }

    /// The shortest `duration` ordered, in seconds.
    public var minimum: TimeInterval { timeout + margin }

    /// The floor as a search term: `duration gte <minimum>`, in seconds, the unit the search body
    /// takes (a query's `duration` is given in days and converted by ``OfferQuery``).
    public var searchFilter: OfferFilter {
        ["duration": [.gte: .number(minimum)]]
    }

    /// True when a host available for `duration` seconds (nil: not said) may be ordered.
    public func allows(duration: Double?) -> Bool {
        guard let duration else { return true }
        return duration >= minimum
    }

    /// True when `offer`'s host stays available long enough (``allows(duration:)``).
    public func allows(_ offer: VastOffer) -> Bool {
        allows(duration: offer.duration)
    }

    /// `duration >= 25h (timeout 24h + vast_api.lifetime_margin 1h)`: the rule as the funnel
    /// and messages show it.
    public var summary: String {
        "duration >= \(Reconciler.format(minimum)) (timeout \(Reconciler.format(timeout)) + vast_api.lifetime_margin \(Reconciler.format(margin)))"
    }

    private enum CodingKeys: String, CodingKey {
        case timeout = "timeoutSeconds", margin = "marginSeconds", minimum = "minimumSeconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(timeout, forKey: .timeout)
        try container.encode(margin, forKey: .margin)
        try container.encode(minimum, forKey: .minimum)
    }
}
