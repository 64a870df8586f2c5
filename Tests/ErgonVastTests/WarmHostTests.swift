import ErgonCore
import ErgonTestSupport
import Foundation
import Logging
import Synchronization
import Testing
import VastSimulator

@testable import ErgonVast

/// A clock tests move by hand.
final class WarmTestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) { current = Mutex(start) }
    func now() -> Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

@Suite("Warm hosts: ranking and record")
struct WarmHostTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    /// Cheapest first, as `OfferSelection.rank` leaves them; 5 ties with 1 on price.
    static let ranked = [
        VastOffer(id: 1, machineID: 101, gpuName: "RTX 4090", gpuRAM: 24_000, dphTotal: 0.200, reliability: 0.99),
        VastOffer(id: 5, machineID: 105, gpuName: "RTX 4090", gpuRAM: 24_000, dphTotal: 0.200, reliability: 0.98),
        VastOffer(id: 2, machineID: 102, gpuName: "RTX 4090", gpuRAM: 24_000, dphTotal: 0.205, reliability: 0.99),
        VastOffer(id: 3, machineID: 103, gpuName: "RTX 4090", gpuRAM: 24_000, dphTotal: 0.210, reliability: 0.99),
        VastOffer(id: 4, machineID: 104, gpuName: "RTX 4090", gpuRAM: 24_000, dphTotal: 0.250, reliability: 0.99),
    ]

    @Test("preferWarm moves the cheapest warm offer within the margin to the front, and nothing else", arguments: [
        ("no margin", [103], nil, [1, 5, 2, 3, 4], nil),
        ("the cheapest is warm already", [101, 103], 0.1, [1, 5, 2, 3, 4], nil),
        ("warm within the margin moves first", [103], 0.1, [3, 1, 5, 2, 4], 3),
        ("warm outside the margin is ignored", [104], 0.1, [1, 5, 2, 3, 4], nil),
        ("several warm: the cheapest warm one", [104, 103, 102], 0.3, [2, 1, 5, 3, 4], 2),
        ("a tie on price counts at margin 0", [105], 0.0, [5, 1, 2, 3, 4], 5),
        ("no warm machine", [], 0.5, [1, 5, 2, 3, 4], nil),
    ] as [(String, [Int], Double?, [Int], Int?)])
    func ranking(name: String, warm: [Int], margin: Double?, expected: [Int], moved: Int?) {
        let machines = Dictionary(uniqueKeysWithValues: warm.map { ($0, Self.now.addingTimeInterval(-7200)) })
        let (offers, choice) = OfferSelection.preferWarm(Self.ranked, warm: machines, within: margin, image: "img:1")
        #expect(offers.map(\.id) == expected, "\(name)")
        #expect(choice?.offerID == moved, "\(name)")
        if let choice {
            #expect(choice.cheapestOfferID == 1)
            #expect(choice.cheapestDPH == 0.200)
            #expect(choice.machineID == 100 + choice.offerID)
        }
    }

    @Test func theChoiceSaysWhatMovedAndWhy() throws {
        let offers = [
            VastOffer(id: 99, machineID: 7, gpuName: "RTX 3090", gpuRAM: 24_000, dphTotal: 0.202, reliability: 0.99),
            VastOffer(id: 123, machineID: 456, gpuName: "RTX 3090", gpuRAM: 24_000, dphTotal: 0.212, reliability: 0.99),
        ]
        let (ranked, choice) = OfferSelection.preferWarm(
            offers, warm: [456: Self.now.addingTimeInterval(-7200)], within: 0.1, image: "ghcr.io/org/worker:2")
        #expect(ranked.map(\.id) == [123, 99])
        let made = try #require(choice)
        #expect(made.summary(now: Self.now) == "offer 123 on machine 456 ran ghcr.io/org/worker:2 2h ago; "
            + "$0.212/h is 5.0% above the first choice $0.202/h (within prefer_warm_hosts_within 10%)")
        #expect(OfferSelection.WarmChoice.percent(0.125) == "12.5%")
    }

    static func temporaryPath() throws -> String {
        let dir = NSTemporaryDirectory() + "ergon-warm-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return WarmHosts.path(cacheDirectory: dir + "/cache")
    }

    @Test func theRecordSurvivesARestartAndKnowsAnImageByAnyOfItsNames() async throws {
        let path = try Self.temporaryPath()
        let clock = WarmTestClock()
        let first = WarmHosts(path: path, now: clock.now)
        #expect(await first.machines(for: "ubuntu").isEmpty, "a missing file is an empty record")
        await first.record([(image: "ubuntu", machine: 11), (image: "ghcr.io/org/worker:2", machine: 12)])
        clock.advance(by: 60)
        let reopened = WarmHosts(path: path, now: clock.now)
        #expect(await reopened.machines(for: "docker.io/library/ubuntu:latest") == [11: clock.now().addingTimeInterval(-60)])
        #expect(await reopened.machines(for: "ghcr.io/org/worker:2").keys.sorted() == [12])
        #expect(await reopened.machines(for: "ghcr.io/org/worker:3").isEmpty)
    }

    @Test func machinesExpireAfterSevenDaysOnLoadAndWhileRunning() async throws {
        let path = try Self.temporaryPath()
        let clock = WarmTestClock()
        let hosts = WarmHosts(path: path, now: clock.now)
        await hosts.record([(image: "img", machine: 1)], at: clock.now().addingTimeInterval(-8 * 86400))
        await hosts.record([(image: "img", machine: 2)], at: clock.now().addingTimeInterval(-6 * 86400))
        #expect(await hosts.machines(for: "img").keys.sorted() == [2])
        #expect(await WarmHosts(path: path, now: clock.now).machines(for: "img").keys.sorted() == [2])
        clock.advance(by: 86400 + 1)
        #expect(await hosts.machines(for: "img").isEmpty)
        #expect(await WarmHosts(path: path, now: clock.now).machines(for: "img").isEmpty)
    }

    @Test func aRunningInstanceRefreshesItsMachineAtMostHourly() async throws {
        let clock = WarmTestClock()
        let hosts = WarmHosts(path: try Self.temporaryPath(), now: clock.now)
        let start = clock.now()
        await hosts.record([(image: "img", machine: 1)])
        clock.advance(by: 600)
        await hosts.record([(image: "img", machine: 1)])
        #expect(await hosts.machines(for: "img") == [1: start])
        clock.advance(by: 3600)
        await hosts.record([(image: "img", machine: 1)])
        #expect(await hosts.machines(for: "img") == [1: clock.now()])
    }

    @Test func aCorruptFileIsStartedAgain() async throws {
        let path = try Self.temporaryPath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("{\"images\": [not json".utf8).write(to: URL(fileURLWithPath: path))
        let clock = WarmTestClock()
        let hosts = WarmHosts(path: path, now: clock.now)
        #expect(await hosts.machines(for: "img").isEmpty)
        await hosts.record([(image: "img", machine: 3)])
        #expect(await WarmHosts(path: path, now: clock.now).machines(for: "img").keys.sorted() == [3])
    }

    @Test func onlyAStartedContainerMakesAMachineWarm() {
        #expect(VastInstance(id: 1, actualStatus: "running").hasStartedItsImage)
        #expect(VastInstance(id: 1, actualStatus: "exited").hasStartedItsImage)
        #expect(!VastInstance(id: 1, actualStatus: "loading").hasStartedItsImage)
        #expect(!VastInstance(id: 1, actualStatus: "created", statusMsg: "OCI runtime create failed").hasStartedItsImage)
        #expect(!VastInstance(id: 1).hasStartedItsImage)
    }
}

@Suite("Warm hosts against the simulator", .serialized)
struct WarmHostScenarioTests {
    @Test("a second task with the same image goes back to the machine that ran it, though a cheaper one is free")
    func secondTaskGoesBackToTheWarmMachine() async throws {
        try await withVastSimulator(.forTesting()) { sim in
            // The warm-host rule measured against the cheapest price: the price ranking.
            let agent = try VastAgentFixture(sim: sim, configure: { $0.vast.ranking = .price })
            let settings = agent.config.vast
            let selection = try OfferSelection.make(
                agentFilters: settings.offerFilters, maxDPH: settings.maxDPH, diskGB: settings.diskGB,
                lifetime: OfferLifetime(timeout: agent.config.scheduler.defaultTimeout.seconds, settings: settings))
            let ranked = selection.rank(try await agent.client.searchOffers(body: selection.requestBody))
            let cheapest = try #require(ranked.first)
            // A machine costlier than the cheapest: the first task is sent there by a filter.
            let warm = try #require(ranked.first { $0.machineID != cheapest.machineID && $0.dphTotal > cheapest.dphTotal })
            var warmSettings = settings
            warmSettings.preferWarmHostsWithin = warm.dphTotal / cheapest.dphTotal - 1 + 0.01
            let clock = sim.clock
            let record = WarmHosts(path: WarmHosts.path(cacheDirectory: agent.config.cacheDirectory), now: { clock.now() })
            var logger = Logger(label: "ergon.test.warm")
            logger.logLevel = .warning
            let backend = try VastBackend(
                client: agent.client, settings: warmSettings, agentID: agent.config.agentID, warmHosts: record,
                destroyConfirmation: .seconds(5), logger: logger)
            let scheduler = Scheduler(
                config: agent.config, queue: agent.queue, backend: backend, logStore: agent.store, gpus: [], logger: logger,
                now: { clock.now() })
            let running = Task { try await scheduler.run() }
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(50))
                    clock.advance(by: VastAgentFixture.speed)
                }
            }
            func stop() async throws {
                scheduler.drain()
                ticker.cancel()
                try await running.value
                try await agent.stop()
            }

            do {
                var rentals: [String: RentalChoice] = [:]
                func run(_ slug: String, image: String, filters: String? = nil) async throws -> Int? {
                    var task = VastAgentFixture.task(slug)
                    task.image = image
                    task.vast = filters.map { VastTaskOptions(offerFilters: $0) }
                    let id = try #require(try await agent.submit([task])[slug]).id
                    #expect(try await agent.waitEnded(id).state == .completed)
                    try await waitUntil { await sim.stats().liveInstances == 0 }
                    rentals[slug] = try await agent.queue.attempts(of: id).last?.rental
                    return await agent.instances(of: id).first?["machine_id"]?.intValue
                }
                let image = "ghcr.io/org/worker:2"
                #expect(try await run("first", image: image, filters: "machine_id=\(warm.machineID)") == warm.machineID)
                #expect(await record.machines(for: image).keys.sorted() == [warm.machineID])
                #expect(
                    await WarmHosts(path: record.path, now: { clock.now() }).machines(for: image).keys.sorted() == [warm.machineID],
                    "the record is on disk")
                #expect(try await run("second", image: image) == warm.machineID, "the warm machine was not preferred")
                // `tasks show` says why: ranked below the cheapest by price, chosen as a warm host.
                let second = try #require(rentals["second"])
                #expect(second.machineID == String(warm.machineID) && second.ranking == "price" && second.score == warm.dphTotal)
                #expect(second.rank == (ranked.firstIndex { $0.id == warm.id } ?? -1) + 1 && second.rank > 1)
                #expect(second.reason?.hasPrefix("warm host: its machine ran \(image) ") == true)
                // Another image has no warm machine: the cheapest offer, still free, is ordered.
                #expect(try await run("third", image: "ghcr.io/org/other:1") == cheapest.machineID)
                #expect(rentals["third"]?.rank == 1 && rentals["third"]?.reason == nil)
            } catch {
                try? await stop()
                throw error
            }
            try await stop()
        }
    }
}
