/// The pricing a search asks for (`type`).
public enum OfferType: String, Sendable {
    /// `on-demand` (also spelled `ondemand`): dph_base plus storage.
    case onDemand = "on-demand"
    /// `bid` (also `interruptible`): priced at the minimum bid.
    case bid
    /// `reserved`: on-demand with the offer's reservation discount in `discounted_dph_total`.
    case reserved

    /// Reads the request's `type`; nil for a word the API does not know.
    public init?(requestValue: String) {
        switch requestValue.lowercased() {
        case "on-demand", "ondemand": self = .onDemand
        case "bid", "interruptible": self = .bid
        case "reserved": self = .reserved
        default: return nil
        }
    }
}
