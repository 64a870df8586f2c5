import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

@Suite struct SimulatorFaultTests {
    /// Options with one fault rule, firing once.
    static func options(_ rule: FaultRule) -> SimulatorOptions {
        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [rule])
        options.defaultProgram = SimulatedProgram(loadSeconds: 2, runSeconds: 20)
        return options
    }

    @Test func rateLimitAnswers429WithRetryAfter() async throws {
        try await withVastSimulator(Self.options(FaultRule(endpoints: [.search], kind: .rateLimit, times: 1, retryAfter: 2))) { sim in
            let client = SimulatorTestClient(sim)
            let limited = try await client.post("/api/v0/bundles/", ["limit": 1])
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "Retry-After") == "2")
            #expect(try await client.post("/api/v0/bundles/", ["limit": 1]).status == 200)
            #expect(await sim.stats().faultsInjected["rate_limit"] == 1)
        }
    }

    @Test(arguments: [(FaultKind.serverError, 502), (.softError, 200), (.authError, 404)])
    func errorsAnswerWithoutActing(kind: FaultKind, status: Int) async throws {
        let rule = FaultRule(endpoints: [.destroy], kind: kind, times: 1, status: kind == .serverError ? 502 : nil)
        try await withVastSimulator(Self.options(rule)) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            let answer = try await client.delete("/api/v0/instances/\(id)/")
            #expect(answer.status == status)
            #expect(answer.json["success"] == false)
            if kind == .authError { #expect(answer.json["error"] == "auth_error") }
            // Nothing was destroyed.
            #expect(try await client.show(id) != nil)
            #expect(try await client.delete("/api/v0/instances/\(id)/").status == 200)
        }
    }

    @Test func aDelayStillActs() async throws {
        let rule = FaultRule(endpoints: [.create], kind: .delay, times: 1, delaySeconds: 0.3)
        try await withVastSimulator(Self.options(rule)) { sim in
            let client = SimulatorTestClient(sim)
            let started = ContinuousClock.now
            let id = try await client.createCheapest()
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(try await client.show(id)["id"]?.intValue == id)
        }
    }

    @Test func anOfferTakenBetweenSearchAndCreate() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .offerTaken, times: 1))) { sim in
            let client = SimulatorTestClient(sim)
            let offerID = try #require(try await client.search(["rentable": ["eq": true], "limit": 1]).first?["id"]?.intValue)
            let answer = try await client.create(offer: offerID)
            #expect(answer.status == 404)
            #expect(answer.json["error"] == "no_such_ask")
            #expect(try await client.create(offer: offerID).status == 404)
            #expect(await sim.stats().createdInstances == 0)
        }
    }

    @Test func anErrorThatStillCarriesTheNewContract() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .errorWithContract, times: 1))) { sim in
            let client = SimulatorTestClient(sim)
            let offerID = try #require(try await client.search(["rentable": ["eq": true], "limit": 1]).first?["id"]?.intValue)
            let answer = try await client.create(offer: offerID)
            #expect(answer.status == 500)
            let id = try #require(answer.json["new_contract"]?.intValue)
            #expect(try await client.show(id)["id"]?.intValue == id)
        }
    }

    @Test func stuckInLoadingForever() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .stuckLoading, times: 1))) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            sim.advance(by: 86_400)
            #expect(try await client.show(id)["actual_status"] == "loading")
        }
    }

    @Test func aFailedStartSitsInCreated() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .ociFailure, times: 1))) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            sim.advance(by: 3)
            let instance = try await client.show(id)
            #expect(instance["actual_status"] == "created")
            #expect(instance["status_msg"]?.stringValue?.contains("OCI runtime create failed") == true)
        }
    }

    @Test func theHostGoesOfflineMidRun() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .hostOffline, times: 1, afterSeconds: 5))) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            sim.advance(by: 4)
            #expect(try await client.show(id)["actual_status"] == "running")
            sim.advance(by: 4)
            #expect(try await client.show(id)["actual_status"] == "offline")
            sim.advance(by: 100)
            #expect(try await client.show(id)["actual_status"] == "offline")
            // Its logs never become ready.
            let request = try await client.put("/api/v0/instances/request_logs/\(id)/", ["tail": "10"])
            let url = try #require(request.json["result_url"]?.stringValue)
            for _ in 0..<5 {
                #expect(try await client.send(.GET, url, authorized: false).status == 404)
            }
        }
    }

    @Test func anInterruptionLeavesTheStoppedTripleAndNoEnd() async throws {
        try await withVastSimulator(Self.options(FaultRule(kind: .interrupted, times: 1, afterSeconds: 5))) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            sim.advance(by: 30)
            let instance = try await client.show(id)
            #expect(instance["cur_state"] == "stopped" && instance["intended_status"] == "stopped")
            #expect(instance["next_state"] == "stopped")
            let (text, _) = try await client.logs(id)
            #expect(text.contains("line 5\n"))
            #expect(!text.contains("finished"))
        }
    }

    @Test func decisionsAreSeededAndRespectAfterAndTimes() async throws {
        func pattern(seed: UInt64) async throws -> [Int] {
            var options = SimulatorOptions.forTesting()
            options.faults = FaultPlan(rules: [FaultRule(endpoints: [.user], kind: .serverError, rate: 0.5)], seed: seed)
            return try await withVastSimulator(options) { sim in
                var statuses: [Int] = []
                for _ in 0..<40 { statuses.append(try await SimulatorTestClient(sim).get("/api/v0/users/current").status) }
                return statuses
            }
        }
        let first = try await pattern(seed: 5)
        #expect(try await pattern(seed: 5) == first)
        #expect(try await pattern(seed: 6) != first)
        #expect((8...32).contains(first.filter { $0 == 503 }.count))

        var options = SimulatorOptions.forTesting()
        options.faults = FaultPlan(rules: [FaultRule(endpoints: [.user], kind: .serverError, after: 2, times: 2)])
        try await withVastSimulator(options) { sim in
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await SimulatorTestClient(sim).get("/api/v0/users/current").status) }
            #expect(statuses == [200, 200, 503, 503, 200, 200])
        }
    }

    @Test func faultFilesAreReadAndCheckedAndCanBeSwapped() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sim-faults.json")
        let plan = try FaultPlan(contentsOf: url)
        #expect(plan.seed == 42)
        #expect(plan.rules.count == 6)
        #expect(plan.rules[1].endpoints == [.list, .show] && plan.rules[1].status == 502)
        #expect(plan.rules[3].kind == .stuckLoading && plan.rules[3].applies(to: .create) && !plan.rules[3].applies(to: .search))
        #expect(plan.rules[5].endpoints.isEmpty && plan.rules[5].applies(to: .logs))

        #expect(throws: FaultPlanError.self) { try FaultPlan(json: ["faults": [["kind": "ratelimit"]]]) }
        do {
            _ = try FaultPlan(json: ["faults": [["kind": "ratelimit"]]], source: "f.json")
        } catch {
            #expect(error.description == #"f.json.faults[0].kind: unknown kind "ratelimit" (did you mean "rate_limit"?)"#)
        }
        #expect(throws: FaultPlanError.self) { try FaultPlan(json: ["faults": [["kind": "stuck_loading", "endpoint": "search"]]]) }
        #expect(try FaultRule(spec: "search:rate_limit:0.25") == FaultRule(endpoints: [.search], kind: .rateLimit, rate: 0.25))

        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let swapped = try await client.put("/__sim/faults", ["faults": [["endpoint": "user", "kind": "server_error"]]])
            #expect(swapped.json["success"] == true)
            #expect(try await client.get("/api/v0/users/current").status == 503)
            #expect(try await client.get("/__sim/faults").json["faults"]?.arrayValue?.count == 1)
        }
    }
}
