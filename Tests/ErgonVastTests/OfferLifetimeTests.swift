import ErgonCore
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

@Suite("Offer lifetime: duration >= timeout + vast_api.lifetime_margin")
struct OfferLifetimeTests {
    /// An offer as the API writes it; `duration` left out when nil.
    static func offer(_ id: Int, dph: Double, reliability: Double = 0.99, duration: Double?) throws -> VastOffer {
        var members: [String: JSONValue] = [
            "id": .number(Double(id)), "machine_id": .number(Double(100 + id)), "gpu_name": "RTX 4090", "num_gpus": 1,
            "gpu_ram": 24_000, "dph_total": .number(dph), "reliability": .number(reliability),
        ]
        if let duration { members["duration"] = .number(duration) }
        return try VastOffer(json: .object(members))
    }

    @Test("allows(duration:)", arguments: [
        ("longer than timeout + margin", 86_400, 3600, 200_000, true),
        ("exactly timeout + margin", 86_400, 3600, 90_000, true),
        ("a second short", 86_400, 3600, 89_999, false),
        ("longer than the timeout, inside the margin", 86_400, 3600, 88_000, false),
        ("shorter than the timeout", 86_400, 3600, 3600, false),
        ("no margin: the timeout is enough", 7200, 0, 7200, true),
        ("no margin, a second short", 7200, 0, 7199, false),
        ("a host already gone", 600, 3600, 0, false),
        ("no duration: kept", 86_400, 3600, nil, true),
    ] as [(String, Double, Double, Double?, Bool)])
    func allows(name: String, timeout: Double, margin: Double, duration: Double?, allowed: Bool) throws {
        let lifetime = OfferLifetime(timeout: timeout, margin: margin)
        #expect(lifetime.allows(duration: duration) == allowed, "\(name)")
        #expect(lifetime.allows(try Self.offer(1, dph: 0.2, duration: duration)) == allowed, "\(name)")
    }

    @Test func theDefaultMarginIsAnHour() {
        #expect(OfferLifetime(timeout: 600).margin == 3600)
        #expect(OfferLifetime(timeout: 600).minimum == 4200)
        #expect(ErgonConfig.Vast().lifetimeMargin.seconds == OfferLifetime.defaultMargin)
    }

    @Test("the summary names the sum, the timeout and the key", arguments: [
        (86_400, 3600, "duration >= 25h (timeout 24h + vast_api.lifetime_margin 1h)"),
        (5400, 0, "duration >= 1h30m (timeout 1h30m + vast_api.lifetime_margin 0s)"),
        (600, 1800, "duration >= 40m (timeout 10m + vast_api.lifetime_margin 30m)"),
    ] as [(Double, Double, String)])
    func summary(timeout: Double, margin: Double, text: String) {
        #expect(OfferLifetime(timeout: timeout, margin: margin).summary == text)
    }

    /// Timeout 10h, margin 1h: hosts must stay 11h (39 600 s). Cap $0.5/h, one term: reliability > 0.9.
    static func market() throws -> (OfferSelection, [VastOffer]) {
        let selection = OfferSelection(
            filter: try OfferQuery.parse("reliability>0.9", defaults: .empty).filter, maxDPH: 0.5, diskGB: 20,
            lifetime: OfferLifetime(timeout: 36_000, margin: 3600))
        let offers = [
            try offer(1, dph: 0.10, reliability: 0.80, duration: 3600),  // fails a term first
            try offer(2, dph: 0.20, duration: 18_000),  // 5h: too short
            try offer(3, dph: 0.30, duration: 39_600),  // exactly 11h
            try offer(4, dph: 0.40, duration: nil),  // unknown: kept
            try offer(5, dph: 0.90, duration: 172_800),  // over the cap
            try offer(6, dph: 0.95, duration: 10_800),  // too short and over the cap: the lifetime counts it
            try offer(7, dph: 0.25, duration: 1_000_000),
        ]
        return (selection, offers)
    }

    @Test func rankLeavesOutShortLivedHosts() throws {
        let (selection, offers) = try Self.market()
        #expect(selection.rank(offers).map(\.id) == [7, 3, 4])
        #expect(selection.shortLived(offers) == 1, "offer 2 only: 6 is over the cap as well")
        var anyLifetime = selection
        anyLifetime.lifetime = nil
        #expect(anyLifetime.rank(offers).map(\.id) == [2, 7, 3, 4])
        #expect(anyLifetime.shortLived(offers) == 0)
    }

    @Test func theFloorIsSentInSecondsAndCheckedAgainLocally() throws {
        let (selection, offers) = try Self.market()
        #expect(selection.requestBody["duration"] == ["gte": 39_600])
        #expect(selection.filter["duration"] == nil, "the local filter leaves the rule to its own step")
        var without = selection
        without.lifetime = nil
        #expect(without.requestBody["duration"] == nil)
        var body = try #require(selection.requestBody.objectValue)
        body["duration"] = nil
        #expect(JSONValue.object(body) == without.requestBody, "the floor is the only difference")
        // An API that ignored the floor: its short-lived offers are still left out.
        #expect(!selection.rank(offers).contains { $0.id == 2 })
    }

    @Test func theFloorHasTheUnitOfAQuerysDurationInDays() throws {
        // 47h + 1h = 2 days: the same term as the query `duration>=2`, which the CLI sends in seconds.
        let lifetime = OfferLifetime(timeout: 169_200, margin: 3600)
        #expect(lifetime.searchFilter == (try OfferQuery.parse("duration>=2", defaults: .empty).filter))
    }

    @Test("a query's own duration term and the floor: the search keeps the stricter bound", arguments: [
        ("duration>=2", ["gte": 172_800]),  // the query's is stricter
        ("duration>=0.25", ["gte": 39_600]),  // 6h: the floor's is
        ("duration>1", ["gt": 86_400]),
        ("duration>0.1", ["gte": 39_600]),
        ("duration<30", ["gte": 39_600, "lt": 2_592_000]),
    ] as [(String, JSONValue)])
    func aQuerysOwnDurationTerm(query: String, sent: JSONValue) throws {
        let selection = try OfferSelection.make(
            agentFilters: query, maxDPH: nil, diskGB: 20, lifetime: OfferLifetime(timeout: 36_000, margin: 3600))
        #expect(selection.requestBody["duration"] == sent)
        #expect(selection.filter["duration"] != nil, "the query's own term is checked with the other terms")
    }

    @Test func theFunnelCountsTheLifetimeAfterTheTermsAndBeforeThePriceCap() throws {
        let (selection, offers) = try Self.market()
        let funnel = OfferFunnel(selection: selection, offers: offers)
        #expect(funnel.total == 7)
        let named = funnel.steps.suffix(2)
        #expect(named.map(\.term) == [
            "duration >= 11h (timeout 10h + vast_api.lifetime_margin 1h)", "dph_total <= 0.5 (vast_api.max_dph)",
        ])
        #expect(named.map(\.removed) == [2, 1])
        #expect(named.map(\.left) == [4, 3])
        #expect(funnel.steps.dropLast(2).map(\.removed).reduce(0, +) == 1, "offer 1, at the reliability term")
        #expect(funnel.matching == selection.rank(offers).count)
        var anyLifetime = selection
        anyLifetime.lifetime = nil
        #expect(!OfferFunnel(selection: anyLifetime, offers: offers).steps.contains { $0.term.hasPrefix("duration >=") })
    }

    @Test func theJSONSaysSeconds() throws {
        let data = try JSONEncoder().encode(OfferLifetime(timeout: 7200, margin: 1800))
        let json = try JSONValue.decode(data)
        #expect(json == ["timeoutSeconds": 7200, "marginSeconds": 1800, "minimumSeconds": 9000])
    }
}

@Suite("Offer lifetime against the simulator", .serialized)
struct OfferLifetimeLaunchTests {
    /// A launch request for a freshly claimed task of `agent`, with `timeout` as its deadline.
    static func request(_ agent: VastAgentFixture, slug: String, timeout: TimeInterval?) async throws -> LaunchRequest {
        let task = try #require(try await agent.submit([VastAgentFixture.task(slug)])[slug])
        let held = try #require(try await agent.queue.claim(taskID: task.id, agentID: agent.config.agentID, gpu: nil, at: agent.sim.clock.now()))
        var request = LaunchRequest(
            task: held.task, attempt: held.attempt.number,
            label: InstanceLabel(agentID: agent.config.agentID, taskID: task.id, attempt: held.attempt.number), gpu: nil,
            environment: agent.backend.environment(task: held.task, attempt: 1, parents: [], access: nil), dataDirectory: "/nonexistent",
            workflow: try #require(try await agent.queue.workflow(task.workflowID)))
        request.timeout = timeout
        return request
    }

    @Test("a launch skips the cheapest offer when its host leaves before the timeout plus the margin, and says so when none stays")
    func launchSkipsShortLivedHosts() async throws {
        try await withVastSimulator(.forTesting()) { sim in
            let agent = try VastAgentFixture(sim: sim)
            do {
                let plain = try OfferSelection.make(agentFilters: agent.config.vast.offerFilters, maxDPH: nil, diskGB: agent.config.vast.diskGB)
                let ranked = plain.rank(try await agent.client.searchOffers(body: plain.requestBody))
                let cheapest = try #require(ranked.first)
                let lasting = try #require(cheapest.duration)
                // The cheapest host's whole availability as the timeout: the margin rules it out.
                let margin = agent.config.vast.lifetimeMargin.seconds
                let expected = try #require(ranked.first { ($0.duration ?? .infinity) >= lasting + margin })
                let id = try await agent.backend.launch(try await Self.request(agent, slug: "a", timeout: lasting)) { _ in }.id
                let instance = try #require(await sim.vast.allInstances().first { $0["id"]?.intValue == Int(id) })
                #expect(instance["bundle_id"]?.intValue == expected.id)
                #expect(expected.id != cheapest.id)

                let longest = ranked.compactMap(\.duration).max() ?? 0
                let none = try await Self.request(agent, slug: "b", timeout: longest + 1)
                do {
                    _ = try await agent.backend.launch(none) { _ in }
                    Issue.record("a launch ordered a host that leaves before the task's timeout")
                } catch let error as BackendError {
                    #expect(error.kind == .launchFailed)
                    #expect(error.message.contains("no offer matches the filters and duration >= "), "\(error.message)")
                    #expect(error.message.contains("+ vast_api.lifetime_margin 1h) (0 returned by the search)"), "\(error.message)")
                    #expect(error.message.contains("`ergon offers --explain --timeout \(OfferFunnel.number(longest + 1))`"), "\(error.message)")
                }
                #expect(await sim.vast.allInstances().count == 1)
            } catch {
                try? await agent.stop()
                throw error
            }
            try await agent.stop()
        }
    }

    @Test("the floor is part of the search: when the cheapest page of offers is all short-lived hosts, a launch still orders a long-lived one beyond it")
    func launchLooksPastACheapPageOfShortLivedHosts() async throws {
        try await withVastSimulator(.forTesting(seed: 7, offers: 1500)) { sim in
            let agent = try VastAgentFixture(sim: sim)
            do {
                let vast = agent.config.vast
                let plain = try OfferSelection.make(agentFilters: vast.offerFilters, maxDPH: nil, diskGB: vast.diskGB)
                let page = plain.rank(try await agent.client.searchOffers(body: plain.requestBody))
                #expect(page.count == plain.limit, "the market has more matching offers than one search returns")
                // The longest-lived host of the cheapest page as the timeout: with the margin, none of it stays long enough.
                let durations = page.map { $0.duration ?? .infinity }
                let timeout = try #require(durations.max())
                let lifetime = OfferLifetime(timeout: timeout, settings: vast)
                var checkedLocally = plain
                checkedLocally.lifetime = lifetime
                #expect(checkedLocally.rank(page).isEmpty, "a floor checked only on the answer would find nothing")

                var everything = plain
                everything.limit = 100_000
                let all = plain.rank(try await agent.client.searchOffers(body: everything.requestBody))
                let expected = try #require(
                    all.first { lifetime.allows(duration: $0.duration) }, "seed 7 has long-lived hosts beyond the cheapest page")
                #expect(!page.contains { $0.id == expected.id })

                let id = try await agent.backend.launch(try await Self.request(agent, slug: "a", timeout: timeout)) { _ in }.id
                let instance = try #require(await sim.vast.allInstances().first { $0["id"]?.intValue == Int(id) })
                #expect(instance["bundle_id"]?.intValue == expected.id)
            } catch {
                try? await agent.stop()
                throw error
            }
            try await agent.stop()
        }
    }
}
