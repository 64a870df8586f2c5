import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

@Suite struct SimulatorInstanceTests {
    @Test func aCreateConsumesItsOffer() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let offer = try #require(try await client.search(["rentable": ["eq": true], "limit": 1]).first)
            let offerID = try #require(offer["id"]?.intValue)
            let created = try await client.create(offer: offerID, ["label": "first"])
            #expect(created.status == 200)
            #expect(created.json["success"] == true)
            #expect(created.json["new_contract"]?.intValue != nil)
            #expect(created.json["instance_api_key"]?.stringValue?.count == 64)

            let again = try await client.create(offer: offerID)
            #expect(again.status == 404)
            #expect(again.json == [
                "success": false, "error": "no_such_ask",
                "msg": .string("error 404/3603: no_such_ask Instance type by id \(offerID) is not available."),
            ])
            // Gone from a plain search; listed as rented when the query asks about `rented`.
            let listed = try await client.search(["id": ["eq": .number(Double(offerID))]])
            #expect(listed.isEmpty)
            let rented = try await client.search(["id": ["eq": .number(Double(offerID))], "rented": ["eq": true]])
            #expect(rented.first?["rented"] == true)
        }
    }

    @Test func aCreateIsValidated() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let offerID = try #require(try await client.search(["rentable": ["eq": true], "limit": 1]).first?["id"]?.intValue)
            let cases: [[String: JSONValue]] = [
                ["env": "-e A=1"], ["disk": 4], ["image": ""], ["env": ["LONG": .string(String(repeating: "x", count: 300))]],
                ["disk": 100_000], ["args": "x"],
            ]
            for extra in cases {
                let answer = try await client.create(offer: offerID, extra)
                if extra["args"] != nil {
                    // A bare string is taken as a one-item list, as the API does.
                    #expect(answer.status == 200)
                    continue
                }
                #expect(answer.status == 400, "\(extra) was accepted")
                #expect(answer.json["error"] == "invalid_args")
            }
        }
    }

    @Test func anInstanceLoadsRunsAndExitsOnTheClock() async throws {
        var options = SimulatorOptions.forTesting()
        options.defaultProgram = SimulatedProgram(loadSeconds: 30, runSeconds: 60)
        try await withVastSimulator(options) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest([
                "label": "lifecycle", "env": ["SIM_EXIT_CODE": "3", "TASK": "x"],
            ])
            var instance = try await client.show(id)
            #expect(instance["actual_status"] == "loading")
            #expect(instance["intended_status"] == "running")
            #expect(instance["label"] == "lifecycle")
            #expect(instance["image_uuid"] == "ergon-test/busybox:1")
            #expect(instance["extra_env"] == [["SIM_EXIT_CODE", "3"], ["TASK", "x"]])
            #expect(instance["start_date"]?.doubleValue != nil)
            #expect(instance["gpu_name"]?.stringValue != nil && instance["dph_total"]?.doubleValue != nil)

            sim.advance(by: 31)
            instance = try await client.show(id)
            #expect(instance["actual_status"] == "running")
            sim.advance(by: 60)
            instance = try await client.show(id)
            #expect(instance["actual_status"] == "exited")
            #expect(instance["cur_state"] == "running")
            let message = instance["status_msg"]?.stringValue ?? ""
            #expect(!message.contains("3"))
            let (text, _) = try await client.logs(id)
            #expect(text.hasSuffix("[sim] instance \(id) finished with status 3\n"))
        }
    }

    @Test func aSelfStoppingCommandEndsWithTheStoppedTriple() async throws {
        var options = SimulatorOptions.forTesting()
        options.programs["worker:1"] = SimulatedProgram(loadSeconds: 1, runSeconds: 5, selfStop: true)
        try await withVastSimulator(options) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest(["image": "worker:1"])
            sim.advance(by: 7)
            let instance = try await client.show(id)
            #expect(instance["actual_status"] == "stopped")
            #expect(instance["cur_state"] == "stopped")
            #expect(instance["intended_status"] == "stopped")
            #expect(instance["next_state"] == "stopped")
        }
    }

    @Test func destroyFreesTheOfferAndForgetsTheInstance() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            let offerID = try #require(try await client.show(id)["bundle_id"]?.intValue)
            let destroyed = try await client.delete("/api/v0/instances/\(id)/")
            #expect(destroyed.status == 200 && destroyed.json["success"] == true)
            #expect(try await client.get("/api/v0/instances/\(id)/?owner=me").json == ["instances": nil])
            let again = try await client.delete("/api/v0/instances/\(id)/")
            #expect(again.status == 404)
            #expect(again.json["error"] == "not_found")
            // The machine is free again: the offer can be rented anew.
            #expect(try await client.create(offer: offerID).status == 200)
        }
    }

    @Test func labelAndStopStart() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            #expect(try await client.put("/api/v0/instances/\(id)/", ["label": "renamed"]).json["success"] == true)
            #expect(try await client.show(id)["label"] == "renamed")
            sim.advance(by: 3)
            #expect(try await client.put("/api/v0/instances/\(id)/", ["state": "stopped"]).json["success"] == true)
            var instance = try await client.show(id)
            #expect(instance["intended_status"] == "stopped" && instance["actual_status"] == "stopped")
            #expect(try await client.put("/api/v0/instances/\(id)/", ["state": "running"]).json["success"] == true)
            instance = try await client.show(id)
            #expect(instance["intended_status"] == "running" && instance["actual_status"] == "loading")
            #expect(try await client.put("/api/v0/instances/999/", ["label": "x"]).status == 404)
        }
    }

    @Test func anInstanceKeyMayStopItsOwnInstanceOnly() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let offers = try await client.search(["rentable": ["eq": true], "limit": 2])
            let first = try await client.create(offer: offers[0]["id"]!.intValue!).json
            let second = try await client.create(offer: offers[1]["id"]!.intValue!).json
            let own = SimulatorTestClient(sim, apiKey: first["instance_api_key"]!.stringValue!)
            let id = first["new_contract"]!.intValue!
            let other = second["new_contract"]!.intValue!
            sim.advance(by: 3)
            #expect(try await own.put("/api/v0/instances/\(id)", ["state": "stopped"]).json["success"] == true)
            #expect(try await own.put("/api/v0/instances/\(other)/", ["state": "stopped"]).status == 404)
            #expect(try await own.post("/api/v0/bundles/", [:]).status == 404)
            #expect(try await client.show(id)["cur_state"] == "stopped")
        }
    }

    @Test func theListingIsPaginated() async throws {
        try await withVastSimulator(.forTesting(offers: 300)) { sim in
            let client = SimulatorTestClient(sim)
            let offers = try await client.search(["rentable": ["eq": true], "limit": 60])
            var created: [Int] = []
            for offer in offers where created.count < 30 {
                let answer = try await client.create(offer: offer["id"]!.intValue!, ["label": .string("batch-\(created.count % 2)")])
                if let id = answer.json["new_contract"]?.intValue { created.append(id) }
            }
            #expect(created.count == 30)
            var seen: [Int] = []
            var token: String?
            var pages = 0
            repeat {
                var path = "/api/v1/instances/?limit=7"
                if let token { path += "&after_token=\(token)" }
                let page = try await client.get(path).json
                #expect(page["success"] == true)
                #expect(page["total_instances"]?.intValue == 30)
                let rows = page["instances"]?.arrayValue ?? []
                #expect(rows.count <= 7)
                seen += rows.compactMap { $0["id"]?.intValue }
                token = page["next_token"]?.stringValue
                pages += 1
            } while token != nil && pages < 20
            #expect(pages == 5)
            #expect(seen == created.sorted())
            // Filters and the page cap.
            let filter = #"{"label":{"eq":"batch-1"}}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let filtered = try await client.get("/api/v1/instances/?limit=100&select_filters=\(filter)").json
            #expect(filtered["instances"]?.arrayValue?.count == 15)
            #expect(filtered["next_token"] == .null)
            let capped = try await client.get("/api/v1/instances/?limit=100").json
            #expect(capped["instances"]?.arrayValue?.count == 25)
            // The retired listing.
            #expect(try await client.get("/api/v0/instances/").status == 410)
        }
    }
}
