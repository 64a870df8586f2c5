import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

/// Two docker agents on one engine and one data_dir: when one stops renewing its lease, the
/// other adopts its running container and finishes the task.
@Suite("Docker takeover between agents", .dockerEngine)
struct DockerTakeoverTests {
    let image = DockerTestEngine.image

    /// Heartbeats every 0.5 s, so the second agent takes over soon after the first signs off;
    /// a lease long enough that a loaded machine does not end it while the agent runs.
    static func fastLeases(_ config: inout ErgonConfig) {
        config.leases = Takeover.Policy(lease: 10, heartbeatInterval: 0.5, dockerTakeoverAfter: 600)
    }

    @Test("an agent that stopped leaves its running container to the other, which finishes it with the whole log")
    func adoptsTheContainer() async throws {
        let first = try AgentHarness(configure: Self.fastLeases)
        first.start()
        let tasks = try await first.submit("w", [
            TaskSpec(slug: "carried-over", image: image, command: .shell("echo before; sleep 4; echo after"))
        ])
        let id = tasks["carried-over"]!.id
        let containerID = try await AgentEndToEndTests.waitForInstance(first, id)
        // A stop ends the lease at once; its container keeps running.
        try await first.drain()
        #expect(try await first.queue.task(id)?.agentID == first.config.agentID)

        let second = try AgentHarness(dataDir: first.config.dataDir, configure: Self.fastLeases)
        second.start()
        let ended = try await second.waitEnded(id, timeout: .seconds(60))
        #expect(ended.state == .completed && ended.attempt == 1, "\(ended)")
        let attempt = try #require(try await second.queue.attempts(of: id).last)
        #expect(attempt.instanceID == containerID && attempt.agentID == second.config.agentID)
        #expect(try await second.log(id) == "before\nafter\n")
        #expect(try await first.backend.list().isEmpty, "the container was removed")
        let agents = try await second.queue.agents()
        #expect(agents.map(\.id).sorted() == [first.config.agentID, second.config.agentID].sorted())
        #expect(agents.first { $0.id == first.config.agentID }?.stoppedAt != nil)
        try await second.stop()
        try await first.client.shutdown()
    }

    @Test("an instance labelled by an agent this queue never saw is left alone")
    func foreignContainersAreNotOrphans() async throws {
        let agent = try AgentHarness()
        let foreignAgent = "elsewhere-\(UUID().uuidString.lowercased().prefix(8))"
        let foreign = TaskRecord(
            id: UUID(), workflowID: UUID(), seq: 1, spec: TaskSpec(slug: "theirs", image: image, command: .shell("sleep 30")),
            parentIDs: [], state: .running, attempt: 1, maxAttempts: 1, createdAt: Date(), updatedAt: Date())
        let request = LaunchRequest(
            task: foreign, attempt: 1, label: InstanceLabel(agentID: foreignAgent, taskID: foreign.id, attempt: 1),
            gpu: nil, environment: [:], dataDirectory: try AgentHarness.temporaryDirectory(),
            workflow: WorkflowRecord(id: foreign.workflowID, name: "theirs", createdAt: Date()))
        let containerID = try await agent.backend.launch(request) { _ in }.id
        agent.start()
        try await Task.sleep(for: .seconds(3))
        #expect(try await agent.backend.list(owners: [foreignAgent]).map(\.id) == [containerID])
        try await agent.drain()
        try await agent.backend.destroy(instanceID: containerID)
        try await agent.stop()
    }
}
