import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

@Suite struct SimulatorSearchTests {
    @Test func answersJSONWithTheExactContentType() async throws {
        try await withVastSimulator { sim in
            let answer = try await SimulatorTestClient(sim).post("/api/v0/bundles/", ["limit": 3])
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "Content-Type") == "application/json")
            #expect(answer.json["offers"]?.arrayValue?.count == 3)
        }
    }

    @Test func filtersOrdersAndLimits() async throws {
        try await withVastSimulator(.forTesting(offers: 600)) { sim in
            let client = SimulatorTestClient(sim)
            // What the CLI sends for 'num_gpus=1 gpu_name=RTX_4090 reliability>0.95' (numbers as strings).
            let offers = try await client.search([
                "verified": ["eq": true], "external": ["eq": false], "rentable": ["eq": true],
                "num_gpus": ["eq": "1"], "gpu_name": ["eq": "RTX 4090"], "reliability": ["gt": "0.95"],
                "order": [["dph_total", "asc"]], "limit": 10, "type": "on-demand", "allocated_storage": 20,
            ])
            #expect(!offers.isEmpty && offers.count <= 10)
            for offer in offers {
                #expect(offer["gpu_name"] == "RTX 4090")
                #expect(offer["num_gpus"]?.intValue == 1)
                #expect((offer["reliability"]?.doubleValue ?? 0) > 0.95)
                #expect(offer["verified"] == true && offer["external"] == false)
                #expect((offer["disk_space"]?.doubleValue ?? 0) >= 20)
                let expected = offer["dph_base"]!.doubleValue! + offer["storage_cost"]!.doubleValue! * 20 / 720
                #expect(abs(offer["dph_total"]!.doubleValue! - expected) < 1e-5)
            }
            let prices = offers.map { $0["dph_total"]!.doubleValue! }
            #expect(prices == prices.sorted())

            let descending = try await client.search(["order": [["dlperf", "desc"]], "limit": 20])
            let scores = descending.map { $0["dlperf"]!.doubleValue! }
            #expect(scores == scores.sorted(by: >))
        }
    }

    @Test func understandsTheCLIsEncodings() async throws {
        try await withVastSimulator(.forTesting(offers: 600)) { sim in
            let client = SimulatorTestClient(sim)
            // driver_version >= 535.86.05 is sent as 535086005; geolocation is a country code;
            // gpu_ram is in MB (24 GB → 24000).
            let offers = try await client.search([
                "driver_version": ["gte": 535_086_005], "geolocation": ["in": ["US", "CA"]],
                "gpu_ram": ["gte": 24000.0], "limit": 200,
            ])
            #expect(!offers.isEmpty)
            for offer in offers {
                let parts = offer["driver_version"]!.stringValue!.split(separator: ".").compactMap { Int($0) }
                #expect(parts[0] * 1_000_000 + parts[1] * 1000 + parts[2] >= 535_086_005)
                #expect(["US", "CA"].contains(offer["geolocation"]!.stringValue!.suffix(2)))
                #expect(offer["gpu_ram"]!.doubleValue! >= 24000)
            }
        }
    }

    @Test func allocatedStorageActsAsADiskFloor() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let all = try await client.search(["limit": 1000, "allocated_storage": 0])
            let big = try await client.search(["limit": 1000, "allocated_storage": 400])
            #expect(big.count < all.count)
            #expect(big.allSatisfy { ($0["disk_space"]?.doubleValue ?? 0) >= 400 })
        }
    }

    @Test func withoutALimitTheServerDefaultApplies() async throws {
        try await withVastSimulator { sim in
            let offers = try await SimulatorTestClient(sim).search([:])
            #expect(offers.count == sim.server.options.defaultSearchLimit)
        }
    }

    @Test func rejectsABadQuery() async throws {
        try await withVastSimulator { sim in
            let answer = try await SimulatorTestClient(sim).post("/api/v0/bundles/", ["num_gpus": ["about": 1]])
            #expect(answer.status == 400)
            #expect(answer.json["success"] == false)
        }
    }
}
