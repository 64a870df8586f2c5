import ErgonVast
import Foundation
import Testing

@testable import VastSimulator

@Suite struct SimulatorMarketTests {
    @Test func theSameSeedGivesTheSameMarket() {
        let first = SimulatedMarket(offerCount: 300, seed: 7)
        let second = SimulatedMarket(offerCount: 300, seed: 7)
        #expect(first.offers == second.offers)
        #expect(first.offers.count == 300)
        let other = SimulatedMarket(offerCount: 300, seed: 8)
        #expect(other.offers.map(\.id) != first.offers.map(\.id))
    }

    @Test func offersHaveARealisticSpread() {
        let offers = SimulatedMarket(offerCount: 1000, seed: 3).offers
        let models = Set(offers.map(\.gpuName))
        #expect(models.count >= 12)
        #expect(models.isSuperset(of: ["RTX 3090", "RTX 4090", "A100 SXM4", "H100 SXM", "RTX A6000"]))
        // Mostly single-GPU offers, some 2/4/8.
        let sizes = Dictionary(grouping: offers, by: \.numGPUs).mapValues(\.count)
        #expect(sizes[1, default: 0] > offers.count / 3)
        #expect(sizes[8, default: 0] > 0 && sizes[4, default: 0] > 0 && sizes[2, default: 0] > 0)
        // Machines carry several offers; hosts several machines.
        #expect(Set(offers.map(\.machineID)).count < offers.count)
        #expect(Set(offers.map(\.hostID)).count < Set(offers.map(\.machineID)).count)
        // Reliability mostly high, a few poor hosts.
        let reliabilities = offers.compactMap { $0.fields["reliability"]?.doubleValue }
        #expect(reliabilities.filter { $0 >= 0.9 }.count > offers.count * 7 / 10)
        #expect(reliabilities.contains { $0 < 0.8 })
        // Prices within bands: an H100 costs more than a 3060.
        let h100 = offers.filter { $0.gpuName == "H100 SXM" && $0.numGPUs == 1 }.map(\.dphBase)
        let rtx3060 = offers.filter { $0.gpuName == "RTX 3060" && $0.numGPUs == 1 }.map(\.dphBase)
        if let cheapH100 = h100.min(), let dearest3060 = rtx3060.max() { #expect(cheapH100 > dearest3060) }
        // Countries spread, written "City, CC".
        let countries = Set(offers.compactMap { $0.fields["geolocation"]?.stringValue?.split(separator: ",").last })
        #expect(countries.count >= 10)
        #expect(offers.allSatisfy { $0.fields["geolocation"]?.stringValue?.range(of: #"^.+, [A-Z]{2}$"#, options: .regularExpression) != nil })
    }

    @Test func everyFilterableFieldIsPresent() {
        let offer = SimulatedMarket(offerCount: 20, seed: 1).offers[0]
        let json = offer.json(allocatedStorage: 10, now: Date(), marketStart: Date())
        for field in OfferFields.names {
            #expect(json[field] != nil, "offers lack \(field)")
        }
        for key in ["ask_contract_id", "dph_base", "score", "driver_version", "end_date", "gpu_ram", "cpu_ram"] {
            #expect(json[key] != nil, "offers lack \(key)")
        }
        // The driver is a dotted string, as offers carry it; the GPU memory is in MB.
        #expect(json["driver_version"]?.stringValue?.split(separator: ".").count == 3)
        #expect((json["gpu_ram"]?.doubleValue ?? 0) > 4000)
    }

    @Test func dphTotalAddsTheStorageAskedFor() {
        let offer = SimulatedMarket(offerCount: 5, seed: 2).offers[0]
        let now = Date()
        let small = offer.json(allocatedStorage: 0, now: now, marketStart: now)["dph_total"]?.doubleValue ?? 0
        let large = offer.json(allocatedStorage: 720, now: now, marketStart: now)["dph_total"]?.doubleValue ?? 0
        #expect(abs(small - offer.dphBase) < 1e-6)
        #expect(abs(large - (offer.dphBase + offer.storageCost)) < 1e-6)
    }

    @Test func answersAreWrittenAsJSONValueWritesThem() {
        let offers = SimulatedMarket(offerCount: 50, seed: 4).offers.map {
            $0.json(allocatedStorage: 12.5, now: Date(timeIntervalSince1970: 1_750_000_000), marketStart: Date(timeIntervalSince1970: 1_749_000_000))
        }
        let document: JSONValue = ["offers": .array(offers), "text": "a \"quoted\" \\ line\nand\ttab \u{1} é/ü"]
        #expect(JSONWriter.bytes(document) == Array(document.encoded()))
    }
}
