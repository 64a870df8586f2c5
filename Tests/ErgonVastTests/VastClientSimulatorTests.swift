import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

@testable import ErgonVast

/// The client against the in-process Vast simulator: every call, pagination, and how each
/// injected fault is classified and retried.
@Suite struct VastClientSimulatorTests {
    /// Quick waits so fault tests run in milliseconds; the shapes are the standard policy's.
    static let fast = VastRetryPolicy(
        attempts: 4, initialDelay: .milliseconds(2), multiplier: 1.5, maxRetryAfter: .seconds(1), logPollAttempts: 5,
        logPollDelay: .milliseconds(2), requestTimeout: .seconds(10))
    static let secret = "sim-secret-KEY-0123456789"

    static func order(_ label: String, disk: Double = 10) -> VastCreateRequest {
        VastCreateRequest(image: "ergon-test/busybox:1", env: ["A": "1"], disk: disk, label: label, args: ["echo", "hi"])
    }

    static let cheapest: JSONValue = [
        "limit": 40, "order": [["dph_total", "asc"]], "rentable": ["eq": true], "rented": ["eq": false],
    ]

    /// Runs `body` with a simulator and a client of it.
    func withClient<T: Sendable>(
        _ options: SimulatorOptions = .forTesting(apiKey: secret), retry: VastRetryPolicy = fast, apiKey: String? = nil,
        _ body: (VastClient, VastSimulatorHarness) async throws -> T
    ) async throws -> T {
        try await withVastSimulator(options) { sim in
            try await VastClient.withClient(baseURL: URL(string: sim.baseURL)!, apiKey: apiKey ?? sim.apiKey, retry: retry) {
                try await body($0, sim)
            }
        }
    }

    func faults(_ sim: VastSimulatorHarness, _ rules: FaultRule...) async {
        await sim.vast.setFaults(FaultPlan(rules: rules))
    }

    // MARK: - Calls

    @Test func searchReturnsTheCheapestOffersDecoded() async throws {
        try await withClient { client, sim in
            let offers = try await client.searchOffers(body: Self.cheapest)
            #expect(!offers.isEmpty && offers.count <= 40)
            #expect(offers.map(\.dphTotal) == offers.map(\.dphTotal).sorted())
            for offer in offers {
                #expect(!offer.gpuName.isEmpty)
                #expect(offer.numGPUs >= 1 && offer.gpuRAM > 0)
                #expect((0...1).contains(offer.reliability))
                #expect(offer.raw["id"]?.intValue == offer.id)
            }
            #expect(await sim.stats().requests(.search) == 1)
        }
    }

    @Test func instanceLifecycleThroughEveryCall() async throws {
        try await withClient { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            let created = try await client.createInstance(offerID: offer.id, request: Self.order("ergon-life"))
            let shown = try #require(try await client.instance(id: created.id))
            #expect(shown.id == created.id)
            #expect(shown.label == "ergon-life")
            #expect(shown.machineID == offer.machineID)
            #expect(shown.imageUUID == "ergon-test/busybox:1")
            #expect(shown.startDate != nil)

            try await client.setLabel(id: created.id, label: "ergon-renamed")
            #expect(try await client.instance(id: created.id)?.label == "ergon-renamed")

            try await client.stopInstance(id: created.id)
            #expect(try await client.instance(id: created.id)?.intendedStatus == "stopped")

            try await client.destroyInstance(id: created.id)
            #expect(try await client.instance(id: created.id) == nil)
            // Destroying again reads back 404 not_found: done, not an error.
            try await client.destroyInstance(id: created.id)
            #expect(await sim.stats().liveInstances == 0)
            // A label on a destroyed instance is a not-found error, not a success.
            let error = await #expect(throws: VastError.self) { try await client.setLabel(id: created.id, label: "x") }
            #expect(error?.kind == .notFound)
        }
    }

    @Test func listingFollowsEveryPageAndFilters() async throws {
        try await withClient { client, sim in
            let offers = try await client.searchOffers(body: [
                "limit": 150, "order": [["dph_total", "asc"]], "rentable": ["eq": true], "rented": ["eq": false],
            ])
            var made: [Int] = []
            for offer in offers where made.count < 60 {
                let label = made.count % 3 == 0 ? "ergon-a" : "ergon-b"
                do {
                    made.append(try await client.createInstance(offerID: offer.id, request: Self.order(label)).id)
                } catch let error as VastError where error.kind == .offerGone {
                    // Renting one offer of a machine can take its other offers off the market.
                    continue
                }
            }
            #expect(made.count == 60)
            let before = await sim.stats().requests(.list)
            let all = try await client.listInstances(pageSize: 25)
            #expect(all.map(\.id) == made.sorted())
            #expect(await sim.stats().requests(.list) - before == 3)

            // A larger page size is capped at what the API serves.
            #expect(try await client.listInstances(pageSize: 100).count == 60)
            let tiny = try await client.listInstances(pageSize: 7)
            #expect(tiny.count == 60)

            let onlyA = try await client.listInstances(selectFilters: ["label": ["in": ["ergon-a"]]], pageSize: 8)
            #expect(onlyA.count == 20)
            #expect(onlyA.allSatisfy { $0.label == "ergon-a" })
            let eqB = try await client.listInstances(selectFilters: ["label": ["eq": "ergon-b"]])
            #expect(eqB.count == 40)
            #expect(try await client.listInstances(selectFilters: ["label": ["eq": "nobody"]]).isEmpty)
        }
    }

    @Test func logsPollTheResultURLUntilItIsReady() async throws {
        var options = SimulatorOptions.forTesting(apiKey: Self.secret)
        options.logNotReadyCount = 3
        try await withClient(options) { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            let id = try await client.createInstance(offerID: offer.id, request: Self.order("ergon-logs")).id
            sim.advance(by: 6)
            let expected = await sim.vast.output(of: id)
            #expect(!expected.isEmpty)
            let text = try await client.logs(id: id, tail: 1000)
            #expect(text == expected.joined(separator: "\n") + "\n")
            // Three 404s, then the text.
            #expect(await sim.stats().requests(.logResult) == 4)
            let last = try await client.logs(id: id, tail: 1)
            #expect(last == expected.suffix(1).joined() + "\n")
        }
    }

    @Test func logsThatNeverBecomeReadyTimeOut() async throws {
        var options = SimulatorOptions.forTesting(apiKey: Self.secret)
        options.logNotReadyCount = 100
        try await withClient(options) { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            let id = try await client.createInstance(offerID: offer.id, request: Self.order("ergon-slow-logs")).id
            let error = await #expect(throws: VastError.self) { try await client.logs(id: id, tail: 10) }
            #expect(error?.kind == .timeout)
            #expect(error?.message.contains("HTTP 404") == true)
            #expect(await sim.stats().requests(.logResult) == Self.fast.logPollAttempts)
        }
    }

    // MARK: - Faults

    @Test func aRateLimitStormIsWaitedOut() async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.search], kind: .rateLimit, times: 3, retryAfter: 0.01))
            let offers = try await client.searchOffers(body: Self.cheapest)
            #expect(!offers.isEmpty)
            #expect(await sim.stats().requests(.search) == 4)
        }
    }

    @Test func aRateLimitOutlastingTheAttemptsIsReported() async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.search], kind: .rateLimit, retryAfter: nil))
            let error = await #expect(throws: VastError.self) { try await client.searchOffers(body: Self.cheapest) }
            #expect(error?.kind == .rateLimited(retryAfter: nil))
            #expect(error?.message.contains("gave up after 4 tries") == true)
            #expect(await sim.stats().requests(.search) == 4)
        }
    }

    @Test func aRetryAfterLongerThanTheCapEndsTheCallAtOnce() async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.search], kind: .rateLimit, retryAfter: 30))
            let error = await #expect(throws: VastError.self) { try await client.searchOffers(body: Self.cheapest) }
            #expect(error?.kind == .rateLimited(retryAfter: 30))
            #expect(await sim.stats().requests(.search) == 1)
        }
    }

    @Test(arguments: [500, 502, 503, 504])
    func serverErrorsOnReadsAreRetried(status: Int) async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.list, .show], kind: .serverError, times: 2, status: status))
            let listed = try await client.listInstances()
            #expect(listed.isEmpty)
            #expect(await sim.stats().requests(.list) == 3)
            let shown = try await client.instance(id: 12345)
            #expect(shown == nil)
        }
    }

    @Test func aCreateIsNeverRetried() async throws {
        try await withClient { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            await faults(sim, FaultRule(endpoints: [.create], kind: .serverError, times: 1, status: 503))
            let error = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-once"))
            }
            #expect(error?.kind == .server(status: 503))
            #expect(error?.strayInstanceID == nil)
            #expect(await sim.stats().requests(.create) == 1)
            #expect(await sim.stats().liveInstances == 0)

            await faults(sim, FaultRule(endpoints: [.create], kind: .rateLimit, times: 1, retryAfter: 0))
            let limited = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-once"))
            }
            #expect(limited?.kind == .rateLimited(retryAfter: 0))
            #expect(await sim.stats().requests(.create) == 2)
        }
    }

    @Test(arguments: [404, 410])
    func aTakenOfferIsOfferGone(status: Int) async throws {
        try await withClient { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            await faults(sim, FaultRule(kind: .offerTaken, times: 1, status: status))
            let error = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-late"))
            }
            #expect(error?.kind == .offerGone)
            #expect(error?.status == status)
            #expect(error?.apiError == "no_such_ask")
            #expect(await sim.stats().requests(.create) == 1)
            #expect(try await client.searchOffers(body: Self.cheapest).contains { $0.id == offer.id } == false)
        }
    }

    @Test func anErrorThatStillMadeAnInstanceNamesIt() async throws {
        try await withClient { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            await faults(sim, FaultRule(kind: .errorWithContract, times: 1))
            let error = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-stray"))
            }
            let stray = try #require(error?.strayInstanceID)
            #expect(error?.kind == .server(status: 500))
            #expect(try await client.instance(id: stray)?.label == "ergon-stray")
            try await client.destroyInstance(id: stray)
            #expect(await sim.stats().liveInstances == 0)
        }
    }

    @Test func authErrorsAreNotRetried() async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.list], kind: .authError))
            let error = await #expect(throws: VastError.self) { try await client.listInstances() }
            #expect(error?.kind == .auth)
            #expect(error?.status == 404)
            #expect(await sim.stats().requests(.list) == 1)
        }
        // A wrong key is the same 404 auth_error, on every call.
        try await withClient(apiKey: "not-the-key") { client, _ in
            let search = await #expect(throws: VastError.self) { try await client.searchOffers(body: Self.cheapest) }
            #expect(search?.kind == .auth)
            let create = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: 1, request: Self.order("x"))
            }
            #expect(create?.kind == .auth)
            let destroy = await #expect(throws: VastError.self) { try await client.destroyInstance(id: 1) }
            #expect(destroy?.kind == .auth)
        }
    }

    @Test func aSoftErrorIsMalformed() async throws {
        try await withClient { client, sim in
            await faults(sim, FaultRule(endpoints: [.show], kind: .softError))
            let error = await #expect(throws: VastError.self) { try await client.instance(id: 1) }
            #expect(error?.kind == .malformed)
            #expect(error?.message.contains("\"success\": false") == true)
            #expect(await sim.stats().requests(.show) == 1)
        }
    }

    @Test func aSlowReadTimesOutAndIsRetried() async throws {
        // The first try outlasts its deadline (8 s + the 2 s margin); the simulator answers the
        // second once the delay ends, 3 s into it, which leaves 7 s of its deadline on a machine
        // loaded by the other suites (a 4 s timeout and a 9 s delay, 3 s to spare, were once not enough).
        let policy = VastRetryPolicy(attempts: 2, initialDelay: .milliseconds(1), requestTimeout: .seconds(8))
        try await withClient(retry: policy) { client, sim in
            await faults(sim, FaultRule(endpoints: [.show], kind: .delay, times: 1, delaySeconds: 13))
            let shown = try await client.instance(id: 77)
            #expect(shown == nil)
            #expect(await sim.stats().requests(.show) == 2)
        }
    }

    @Test func aSlowCreateTimesOutOnceAndLeavesTheInstanceToFindByLabel() async throws {
        let policy = VastRetryPolicy(attempts: 3, initialDelay: .milliseconds(1), requestTimeout: .milliseconds(1500))
        try await withClient(retry: policy) { client, sim in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            await faults(sim, FaultRule(endpoints: [.create], kind: .delay, times: 1, delaySeconds: 4))
            let error = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-unknown-outcome"))
            }
            #expect(error?.kind == .timeout)
            #expect(await sim.stats().requests(.create) == 1)
            // The simulator finishes the create after the delay; the label finds it.
            var found: [VastInstance] = []
            for _ in 0..<200 where found.isEmpty {
                found = try await client.listInstances(selectFilters: ["label": ["eq": "ergon-unknown-outcome"]])
                if found.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(found.count == 1)
        }
    }

    @Test func aRejectedCreateIsRejected() async throws {
        try await withClient { client, _ in
            let offer = try #require(try await client.searchOffers(body: Self.cheapest).first)
            let error = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: offer.id, request: Self.order("ergon-small", disk: 1))
            }
            #expect(error?.kind == .rejected(status: 400))
            #expect(error?.message.contains("disk") == true)
        }
    }

    /// Every kind of error, forced for real, and the key appears in none of them.
    @Test func noErrorEverShowsTheKey() async throws {
        var errors: [VastError.Kind: VastError] = [:]
        func record(_ body: () async throws -> Void) async {
            do {
                try await body()
                Issue.record("expected an error")
            } catch let error as VastError {
                errors[error.kind] = error
            } catch {
                Issue.record("not a VastError: \(error)")
            }
        }
        // Long enough for any answer on a loaded machine, shorter than the injected delay.
        let policy = VastRetryPolicy(attempts: 1, requestTimeout: .seconds(5))
        try await withClient(retry: policy) { client, sim in
            let offers = try await client.searchOffers(body: Self.cheapest)
            let offer = try #require(offers.first)
            let other = try #require(offers.last)
            await faults(sim, FaultRule(endpoints: [.list], kind: .authError, times: 1))
            await record { _ = try await client.listInstances() }
            await faults(sim, FaultRule(endpoints: [.search], kind: .rateLimit, times: 1))
            await record { _ = try await client.searchOffers(body: Self.cheapest) }
            await faults(sim, FaultRule(kind: .offerTaken, times: 1))
            await record { _ = try await client.createInstance(offerID: offer.id, request: Self.order("l")) }
            await faults(sim)
            await record { try await client.setLabel(id: 999_999, label: "x") }
            await faults(sim, FaultRule(endpoints: [.show], kind: .serverError, times: 1))
            await record { _ = try await client.instance(id: 1) }
            await record { _ = try await client.createInstance(offerID: other.id, request: Self.order("l", disk: 1)) }
            await faults(sim, FaultRule(endpoints: [.show], kind: .softError, times: 1))
            await record { _ = try await client.instance(id: 1) }
            await faults(sim, FaultRule(endpoints: [.show], kind: .delay, times: 1, delaySeconds: 10))
            await record { _ = try await client.instance(id: 1) }
        }
        try await VastClient.withClient(baseURL: URL(string: "http://127.0.0.1:9")!, apiKey: Self.secret, retry: policy) { client in
            await record { _ = try await client.listInstances() }
        }
        let kinds: [VastError.Kind] = [
            .auth, .rateLimited(retryAfter: 1), .offerGone, .notFound, .server(status: 503), .rejected(status: 400),
            .malformed, .timeout, .transport,
        ]
        #expect(Set(errors.keys) == Set(kinds))
        for (kind, error) in errors {
            #expect(!String(describing: error).contains(Self.secret), "\(kind)")
            #expect(!String(reflecting: error).contains(Self.secret), "\(kind)")
            #expect(!error.localizedDescription.contains(Self.secret), "\(kind)")
        }
    }
}
