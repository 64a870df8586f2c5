import ErgonCore
import ErgonTestSupport
import Foundation
import Synchronization
import Testing
import VastSimulator

@testable import ErgonVast

/// The record of what happened on each Vast machine, and the exclusions it calls for.
@Suite("Host reputation")
struct HostReputationTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    typealias Event = HostReputation.Event

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var events: [Event]
        var at: TimeInterval
        /// Seconds after t0 the exclusion lasts until; nil: not excluded.
        var until: TimeInterval?
        var reason: String?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no events", events: [], at: 0, until: nil),
        Row(name: "provisioned only", events: [Event(kind: .provisioned, at: t0, seconds: 90)], at: 60, until: nil),
        Row(name: "one failure: 6h", events: [Event(kind: .failedStart, at: t0, reason: "OCI runtime create failed")],
            at: 3600, until: 6 * 3600, reason: "OCI runtime create failed"),
        Row(name: "one failure, 6h later: free again", events: [Event(kind: .lost, at: t0)], at: 6 * 3600 + 1, until: nil),
        Row(name: "failed twice, the second after the first exclusion ended: 3 days from the second",
            events: [Event(kind: .failedStart, at: t0, reason: "OCI"), Event(kind: .provisioningTimeout, at: t0 + 7 * 3600, reason: "slow")],
            at: 7 * 3600 + 71 * 3600, until: 7 * 3600 + 72 * 3600, reason: "2 failures in 7d, the latest: slow"),
        Row(name: "failed twice: free 3 days after the second",
            events: [Event(kind: .failedStart, at: t0), Event(kind: .interrupted, at: t0 + 3600)], at: 3600 + 72 * 3600 + 1, until: nil),
        Row(name: "a failure older than the window does not make the next one repeated",
            events: [Event(kind: .failedStart, at: t0), Event(kind: .lost, at: t0 + 8 * 86_400, reason: "offline")],
            at: 8 * 86_400 + 7 * 3600, until: nil),
    ]

    @Test(arguments: rows)
    func policy(row: Row) {
        let exclusion = HostReputation.Policy().exclusion(of: "7", events: row.events, at: Self.t0 + row.at)
        #expect(exclusion?.until == row.until.map { Self.t0 + $0 })
        if let reason = row.reason { #expect(exclusion?.reason == reason) }
    }

    static func instance(
        _ id: String, machine: String, _ status: BackendInstance.Status, created: Date? = nil, gpu: String? = nil
    ) -> BackendInstance {
        BackendInstance(id: id, label: nil, status: status, stateText: "x", createdAt: created, machineID: machine, gpuName: gpu)
    }

    @Test("the listing records provisioning times and lost hosts once; a blamed failure is classified by the instance's last state")
    func learnsFromTheListing() async {
        let clock = Mutex(Self.t0)
        let record = HostReputation(now: { clock.withLock { $0 } })
        await record.noteListing([Self.instance("1", machine: "10", .provisioning, created: Self.t0)])
        clock.withLock { $0 = Self.t0 + 95 }
        await record.noteListing([Self.instance("1", machine: "10", .running, created: Self.t0, gpu: "RTX 3090")])
        await record.noteListing([Self.instance("1", machine: "10", .running, created: Self.t0, gpu: "RTX 3090")])
        #expect(await record.events(of: "10") == [Event(kind: .provisioned, at: Self.t0 + 95, seconds: 95, gpu: "RTX 3090")])
        #expect(await record.provisioningTimesByGPU() == ["RTX 3090": [95]])
        #expect(await record.current().isEmpty)

        await record.noteListing([Self.instance("2", machine: "20", .failedStart(message: "OCI runtime create failed: x"))])
        #expect(await record.blame(instance: "2", reason: "the instance failed to start: OCI") == "20")
        await record.noteListing([Self.instance("3", machine: "30", .provisioning)])
        #expect(await record.blame(instance: "3", reason: "still provisioning after 20m") == "30")
        await record.noteListing([Self.instance("4", machine: "40", .lost(reason: "the host went offline"))])
        await record.noteListing([Self.instance("4", machine: "40", .lost(reason: "the host went offline"))])
        #expect(await record.blame(instance: "9", reason: "never listed") == nil)
        #expect(await record.events(of: "20").map(\.kind) == [.failedStart])
        #expect(await record.events(of: "30").map(\.kind) == [.provisioningTimeout])
        #expect(await record.events(of: "40").map(\.kind) == [.lost], "recorded once")
        #expect(await record.current() == [
            "20": "the instance failed to start: OCI", "30": "still provisioning after 20m", "40": "the host went offline",
        ])
    }

    @Test("the record survives a restart, and an unreadable one starts again")
    func persists() async throws {
        let dir = NSTemporaryDirectory() + "ergon-hosts-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = HostReputation.path(cacheDirectory: dir)
        let now = Date()
        let first = HostReputation(path: path)
        await first.record(machine: "5", Event(kind: .failedStart, at: now.addingTimeInterval(-3600), reason: "OCI"))
        await first.record(machine: "5", Event(kind: .lost, at: now.addingTimeInterval(-60), reason: "offline"))
        let again = HostReputation(path: path)
        let exclusion = try #require(await again.exclusions().first)
        #expect(exclusion.machine == "5" && exclusion.reason == "2 failures in 7d, the latest: offline")
        #expect(abs(exclusion.until.timeIntervalSince(now.addingTimeInterval(-60 + 72 * 3600))) < 1)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(await HostReputation(path: path).exclusions().isEmpty)
    }

    @Test("a machine that failed twice is not chosen again within its exclusion window")
    func failedTwiceIsNotChosen() async throws {
        try await withVastSimulator(.forTesting()) { sim in
            // The machine the agent would order from first.
            let probe = try VastAgentFixture(sim: sim)
            let selection = try OfferSelection.make(agentFilters: "", maxDPH: nil, diskGB: probe.config.vast.diskGB)
            let cheapest = try #require(selection.rank(try await probe.client.searchOffers(body: selection.requestBody)).first)
            try await probe.stop()
            let clock = sim.clock
            let hosts = HostReputation(now: { clock.now() })
            let machine = String(cheapest.machineID)
            await hosts.record(machine: machine, Event(kind: .failedStart, at: clock.now().addingTimeInterval(-8 * 3600), reason: "OCI"))
            await hosts.record(machine: machine, Event(kind: .lost, at: clock.now().addingTimeInterval(-3600), reason: "offline"))

            let agent = try VastAgentFixture(sim: sim, hosts: hosts)
            agent.start()
            let tasks = try await agent.submit([VastAgentFixture.task("t")])
            let task = try await agent.waitEnded(tasks["t"]!.id)
            try await agent.stop()
            #expect(task.state == .completed)
            let ordered = await agent.instances(of: task.id)
            #expect(ordered.count == 1)
            #expect(ordered.first?["machine_id"]?.intValue != cheapest.machineID, "the excluded machine was ordered from")
            // It ran elsewhere and became usable: that machine's record says how long it took.
            let used = try #require(ordered.first?["machine_id"]?.intValue)
            #expect(await hosts.events(of: String(used)).map(\.kind) == [.provisioned])
        }
    }
}
