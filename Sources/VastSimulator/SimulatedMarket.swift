import ErgonVast
import Foundation

/// A seeded market of GPU offers with a realistic spread: common consumer cards and fewer
/// data-centre ones, prices within each model's band, mostly reliable hosts and some poor ones,
/// hosts around the world, several offers per machine.
///
/// The same `offerCount` and `seed` always give the same offers (same toolchain), so a test can
/// name an offer it expects.
public struct SimulatedMarket: Sendable {
    /// The offers, ordered by id.
    public let offers: [SimulatedOffer]
    private let indexByID: [Int: Int]

    /// Generates `offerCount` offers from `seed`; a `faulty` market degrades its cheap end
    /// (``FaultyMarket``), leaving every other draw as the plain market's.
    public init(offerCount: Int, seed: UInt64, faulty: FaultyMarket? = nil) {
        var random = SeededGenerator(seed: seed, stream: 1)
        var faultDraws = SeededGenerator(seed: seed, stream: 5)
        var generated: [SimulatedOffer] = []
        var nextOfferID = 4_100_000 + Int.random(in: 0..<100_000, using: &random)
        var nextMachineID = 10_000 + Int.random(in: 0..<5_000, using: &random)
        var hosts: [HostProfile] = []
        while generated.count < offerCount {
            // A host owns one to a few machines; reuse an existing host now and then.
            let host: HostProfile
            if !hosts.isEmpty, random.chance(0.3) {
                host = hosts[Int.random(in: 0..<hosts.count, using: &random)]
            } else {
                host = HostProfile.random(id: 50_000 + hosts.count * 7 + Int.random(in: 0..<7, using: &random), using: &random)
                hosts.append(host)
            }
            nextMachineID += 1 + Int.random(in: 0..<40, using: &random)
            var machine = MachineProfile.random(id: nextMachineID, host: host, using: &random)
            if let faulty { machine = faulty.degrade(machine, using: &faultDraws) }
            for size in machine.offerSizes where generated.count < offerCount {
                nextOfferID += 1 + Int.random(in: 0..<900, using: &random)
                generated.append(machine.offer(id: nextOfferID, gpus: size, using: &random))
            }
        }
        generated.sort { $0.id < $1.id }
        self.offers = generated
        self.indexByID = Dictionary(uniqueKeysWithValues: generated.enumerated().map { ($0.element.id, $0.offset) })
    }

    /// The offer with `id`, if the market has one.
    public func offer(id: Int) -> SimulatedOffer? {
        indexByID[id].map { offers[$0] }
    }
}
