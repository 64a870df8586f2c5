import ErgonCore
import ErgonVast
import Foundation
import Testing

@testable import VastSimulator

/// The simulator's faulty market (`--market faulty`), and the two rankings on it.
@Suite("Faulty simulated market")
struct FaultyMarketTests {
    static let faulty = FaultyMarket(timeScale: 1)

    /// The single-GPU offers of a market as a search returns them (20 GB of disk).
    static func offers(_ market: SimulatedMarket) throws -> [VastOffer] {
        let now = Date()
        return try market.offers.filter { $0.numGPUs == 1 && !$0.rentedByOthers }.map {
            try VastOffer(json: $0.json(allocatedStorage: 20, now: now, marketStart: now))
        }
    }

    @Test func onlyTheCheapEndIsDegradedAndTheRestIsThePlainMarket() throws {
        let plain = SimulatedMarket(offerCount: 600, seed: 11)
        let faulty = SimulatedMarket(offerCount: 600, seed: 11, faulty: Self.faulty)
        #expect(plain.offers.map(\.id) == faulty.offers.map(\.id))
        #expect(plain.offers.map(\.dphBase) == faulty.offers.map(\.dphBase))
        let changed = zip(plain.offers, faulty.offers).filter { $0.inetDown != $1.inetDown || $0.reliability != $1.reliability }
        #expect(changed.count > 60, "a third of the market is its cheap end: \(changed.count)")
        // Each degraded machine got a slow link or a flaky host, not both.
        for (before, after) in changed {
            let slow = after.inetDown <= 25 && before.inetDown != after.inetDown
            let flaky = after.reliability <= 0.8 && before.reliability != after.reliability
            #expect(slow != flaky, "offer \(after.id): \(before.inetDown) → \(after.inetDown) Mb/s, \(before.reliability) → \(after.reliability)")
        }
    }

    @Test func hostsLoadOverTheirLinkAndFlakyOnesAreInterrupted() throws {
        let market = SimulatedMarket(offerCount: 600, seed: 11, faulty: Self.faulty)
        let program = SimulatedProgram(loadSeconds: 2, runSeconds: 100)
        let slow = try #require(market.offers.first { $0.inetDown <= 25 })
        let load = Self.faulty.loadSeconds(program: program, offer: slow, env: ["SIM_IMAGE_BYTES": "1000000000"])
        #expect(abs(load - (2 + 8e9 / (slow.inetDown * 1e6))) < 1e-9)
        let scaled = FaultyMarket(timeScale: 0.01).loadSeconds(program: program, offer: slow, env: [:])
        #expect(abs(scaled - (2 + 32e9 / (slow.inetDown * 1e6) * 0.01)) < 1e-9)
        // Interruptions follow the host's unreliability, at 20–80% of the run.
        let flaky = try #require(market.offers.first { $0.reliability <= 0.8 })
        let sound = try #require(market.offers.first { $0.reliability >= 0.99 })
        let flakyStops = (1...400).compactMap { Self.faulty.interruption(instanceID: $0, offer: flaky, runSeconds: 100, seed: 11) }
        let soundStops = (1...400).compactMap { Self.faulty.interruption(instanceID: $0, offer: sound, runSeconds: 100, seed: 11) }
        #expect(Double(flakyStops.count) / 400 > (1 - flaky.reliability) * 0.6)
        #expect(Double(flakyStops.count) / 400 < (1 - flaky.reliability) * 1.4)
        #expect(soundStops.count < 20)
        #expect(flakyStops.allSatisfy { (20...80).contains($0) })
    }

    @Test func effectiveCostKeepsTheSlowLinksOutOfItsFirstChoices() throws {
        let offers = try Self.offers(SimulatedMarket(offerCount: 2000, seed: 11, faulty: Self.faulty))
        let inputs = EffectiveCost.Inputs(imageBytes: 4e9, imageSizeSource: "test", runSeconds: 2000, runSource: "test")
        func degraded(_ offer: VastOffer) -> Bool { (offer.inetDown ?? 100) <= 25 || offer.reliability <= 0.8 }
        let byPrice = Array(offers.sortedByPrice().prefix(20))
        let byCost = Array(EffectiveCost.ranked(offers, inputs).prefix(20).map(\.offer))
        func slow(_ offer: VastOffer) -> Bool { (offer.inetDown ?? 100) <= 25 }
        // Seed 11: the price ranking's first 20 are 19 degraded machines (7 slow links); the
        // effective-cost ranking's hold no slow link, and only flaky hosts cheap enough to be
        // worth their risk.
        #expect(byPrice.count { degraded($0) } >= 15)
        #expect(byPrice.count { slow($0) } >= 5)
        #expect(byCost.count { slow($0) } == 0)
        #expect(byCost.count { degraded($0) } < byPrice.count { degraded($0) })
    }
}
