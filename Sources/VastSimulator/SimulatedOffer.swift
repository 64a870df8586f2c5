import ErgonVast
import Foundation

/// One offer of the simulated market: what does not change between searches. The per-search
/// fields (`dph_total` for the requested storage, `duration` left, `rented`) are added by
/// ``json(allocatedStorage:now:marketStart:type:rented:)``.
public struct SimulatedOffer: Sendable, Equatable {
    /// The offer (ask contract) id: what create takes.
    public var id: Int
    /// The machine it belongs to; a machine carries several offers (1, 2, 4, … of its GPUs).
    public var machineID: Int
    /// The host (owner) of the machine.
    public var hostID: Int
    /// The GPU model (`RTX 4090`).
    public var gpuName: String
    /// GPUs in this offer.
    public var numGPUs: Int
    /// GPUs of the whole machine.
    public var machineGPUs: Int
    /// The GPU price of the offer, $/hour, without storage.
    public var dphBase: Double
    /// The storage price, $/GB/month.
    public var storageCost: Double
    /// The disk the offer can give, GB.
    public var diskSpace: Double
    /// The lowest bid accepted for an interruptible instance, $/hour.
    public var minBid: Double
    /// How long the host stays listed after the market opens, seconds.
    public var availableFor: Double
    /// Rented by another customer when the market opened: listed as `rented`, never creatable.
    public var rentedByOthers: Bool
    /// Every other key of the offer, as search returns it.
    public var fields: [String: JSONValue]

    /// The machine's download speed, Mb/s (`inet_down`).
    public var inetDown: Double { fields["inet_down"]?.doubleValue ?? 100 }
    /// The machine's reliability, 0–1.
    public var reliability: Double { fields["reliability"]?.doubleValue ?? 1 }

    /// The offer as `POST /api/v0/bundles/` returns it for a search asking `allocatedStorage` GB.
    public func json(
        allocatedStorage: Double, now: Date, marketStart: Date, type: OfferType = .onDemand, rented: Bool = false
    ) -> JSONValue {
        var members = fields
        let storageHour = storageCost * allocatedStorage / 720
        let gpuHour = type == .bid ? minBid : dphBase
        let total = gpuHour + storageHour
        let discountRate = fields["discount_rate"]?.doubleValue ?? 0
        let discounted = type == .reserved ? total * (1 - discountRate) : total
        let endDate = marketStart.timeIntervalSince1970 + availableFor
        let left = max(0, endDate - now.timeIntervalSince1970)
        members["dph_total"] = .number(Self.rounded(total))
        members["discounted_dph_total"] = .number(Self.rounded(discounted))
        members["discounted_hourly"] = .number(Self.rounded(discounted - storageHour))
        members["storage_total_cost"] = .number(Self.rounded(storageHour))
        members["vram_costperhour"] = .number(Self.rounded(total / (Double(fields["gpu_total_ram"]?.doubleValue ?? 1) / 1000)))
        let dlperf = fields["dlperf"]?.doubleValue ?? 0
        let flops = fields["total_flops"]?.doubleValue ?? 0
        members["dlperf_per_dphtotal"] = .number(Self.rounded(total > 0 ? dlperf / total : 0))
        members["flops_per_dphtotal"] = .number(Self.rounded(total > 0 ? flops / total : 0))
        members["duration"] = .number(left.rounded())
        members["end_date"] = .number(endDate.rounded())
        members["rented"] = .bool(rented)
        members["rentable"] = .bool(!rented && (fields["rentable"]?.boolValue ?? true))
        members["is_bid"] = .bool(type == .bid)
        members["time_remaining"] = .string(Self.remainingText(left))
        members["time_remaining_isbid"] = .string("")
        let price: JSONValue = [
            "gpuCostPerHour": .number(Self.rounded(gpuHour)),
            "diskHour": .number(Self.rounded(storageHour)),
            "totalHour": .number(Self.rounded(total)),
            "discountTotalHour": .number(Self.rounded(total - discounted)),
            "discountedTotalPerHour": .number(Self.rounded(discounted)),
        ]
        members["search"] = price
        members["instance"] = price
        return .object(members)
    }

    /// Prices keep 6 decimals, as the API writes them; keeps outputs stable across platforms.
    static func rounded(_ value: Double) -> Double {
        (value * 1_000_000).rounded() / 1_000_000
    }

    static func remainingText(_ seconds: Double) -> String {
        let days = Int(seconds / 86_400)
        let hours = Int(seconds.truncatingRemainder(dividingBy: 86_400) / 3600)
        return "\(days) days, \(hours) hrs"
    }
}
