import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

@Suite struct SimulatorAccountTests {
    @Test func aWrongKeyIsA404AuthError() async throws {
        try await withVastSimulator { sim in
            let wrong = SimulatorTestClient(sim, apiKey: "not-the-key")
            let answer = try await wrong.get("/api/v0/users/current")
            #expect(answer.status == 404)
            #expect(answer.json["error"] == "auth_error")
            #expect(answer.json["success"] == false)
            var none = SimulatorTestClient(sim)
            none.apiKey = nil
            #expect(try await none.get("/api/v0/users/current").status == 401)
            // The key may also come as ?api_key=.
            let query = try await none.get("/api/v0/users/current?api_key=\(sim.apiKey)")
            #expect(query.status == 200)
            #expect(query.json["id"]?.intValue != nil)
        }
    }

    @Test func withoutAConfiguredKeyAnyKeyWorks() async throws {
        var options = SimulatorOptions.forTesting()
        options.apiKey = nil
        try await withVastSimulator(options) { sim in
            let answer = try await SimulatorTestClient(sim, apiKey: "whatever").get("/api/v0/users/current")
            #expect(answer.status == 200)
        }
    }

    @Test func statsCountRequestsCreatesAndBilling() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let first = try await client.createCheapest(["label": "a"])
            _ = try await client.createCheapest(["label": "a"])
            _ = try await client.createCheapest(["label": "b"])
            sim.advance(by: 100)
            _ = try await client.delete("/api/v0/instances/\(first)/")
            sim.advance(by: 50)
            let stats = try await client.get("/__sim/stats").json
            #expect(stats["live_instances"]?.intValue == 2)
            #expect(stats["created_instances"]?.intValue == 3)
            #expect(stats["creates_per_label"] == ["a": 2, "b": 1])
            #expect(stats["billed_seconds"] == ["a": 250, "b": 150])
            #expect(stats["requests"]?["create"]?.intValue == 3)
            #expect(stats["requests"]?["search"]?.intValue == 3)
            #expect(stats["requests"]?["destroy"]?.intValue == 1)
            let direct = await sim.stats()
            #expect(direct.requests(.create) == 3)
        }
    }

    @Test func hooksListDestroyedInstancesAndMoveTime() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            _ = try await client.delete("/api/v0/instances/\(id)/")
            let all = try await client.get("/__sim/instances").json["instances"]?.arrayValue ?? []
            #expect(all.count == 1 && all[0]["destroyed"] == true)
            let before = sim.clock.now()
            _ = try await client.post("/__sim/advance?seconds=60", [:])
            #expect(sim.clock.now().timeIntervalSince(before) == 60)
        }
    }
}
