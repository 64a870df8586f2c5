import ErgonCore
import ErgonTestSupport
import Foundation
import Logging
import Testing

@testable import ErgonDocker

/// Builds launch requests and backends against the real engine, and removes what a test made.
enum DockerFixtures {
    /// A fresh agent id, so a test sees only its own containers.
    static func agentID() -> String {
        "test-\(UUID().uuidString.lowercased().prefix(12))"
    }

    /// Docker settings for tests: the test socket, no network.
    static func settings(socket: String = DockerTestEngine.socketPath, network: String = "none") -> ErgonConfig.Docker {
        var settings = ErgonConfig.Docker()
        settings.socket = socket
        settings.network = network
        return settings
    }

    /// A launch request for `spec` as attempt `attempt` of a new task, with the worker environment
    /// and a `/data` tree laid out as the agent does (`<task id>/`, `current` link).
    static func request(
        _ spec: TaskSpec, agentID: String, attempt: Int = 1, gpu: String? = nil, workflow: WorkflowRecord? = nil
    ) throws -> LaunchRequest {
        let workflow = workflow ?? WorkflowRecord(id: UUID(), name: "test", createdAt: Date())
        let task = TaskRecord(
            id: UUID(), workflowID: workflow.id, seq: 1, spec: spec, parentIDs: [], state: .running,
            attempt: attempt, maxAttempts: 3, agentID: agentID, createdAt: Date(), updatedAt: Date())
        let data = try temporaryDirectory()
        let taskID = task.id.uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: "\(data)/\(taskID)", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(data)/current", withDestinationPath: taskID)
        return LaunchRequest(
            task: task, attempt: attempt, label: InstanceLabel(agentID: agentID, taskID: task.id, attempt: attempt),
            gpu: gpu, environment: WorkerEnvironment.docker(task: task, attempt: attempt, parents: [], access: nil),
            dataDirectory: data, workflow: workflow)
    }

    /// A new empty directory under the system's temporary directory.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ergon-docker-test-\(UUID().uuidString.lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Lends a backend for a fresh agent id on the test engine; removes every container of that
    /// agent afterwards, whether `body` throws or not.
    static func withBackend<Result: Sendable>(
        gpus: [String] = [], settings: ErgonConfig.Docker = DockerFixtures.settings(), imageRecord: ImageUsageRecord = ImageUsageRecord(path: nil),
        logger: Logger = Logger(label: "ergon.docker"), _ body: (DockerBackend, String) async throws -> Result
    ) async throws -> Result {
        let agent = agentID()
        return try await DockerBackend.withBackend(
            settings: settings, agentID: agent, gpus: gpus, imageRecord: imageRecord, logger: logger
        ) { backend in
            let result: Result
            do {
                result = try await body(backend, agent)
            } catch {
                await removeContainers(of: agent, client: backend.client)
                throw error
            }
            await removeContainers(of: agent, client: backend.client)
            return result
        }
    }

    /// Removes every container labelled with `agent`, best effort.
    static func removeContainers(of agent: String, client: DockerEngineClient) async {
        let containers = (try? await client.listContainers(labels: ["\(InstanceLabel.dockerAgentKey)=\(agent)"])) ?? []
        for container in containers {
            _ = try? await client.removeContainer(container.id)
        }
    }

    /// Polls the listing until the instance `id` has exited (or could not start); returns its status.
    static func waitForEnd(
        of id: String, backend: DockerBackend, timeout: Duration = .seconds(60)
    ) async throws -> BackendInstance.Status {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if let instance = try await backend.list().first(where: { $0.id == id }) {
                switch instance.status {
                case .exited, .failedStart, .lost: return instance.status
                default: break
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestTimeout(what: "container \(id) to end")
    }

    /// Reads logs until the container ended and one more read adds nothing; returns all bytes.
    static func readAll(of id: String, backend: DockerBackend) async throws -> String {
        _ = try await waitForEnd(of: id, backend: backend)
        var cursor: String?
        var bytes: [UInt8] = []
        while true {
            let read = try await backend.readLogs(instanceID: id, cursor: cursor)
            cursor = read.cursor
            if read.bytes.isEmpty { break }
            bytes += read.bytes
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A test waited too long.
    struct TestTimeout: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(what)" }
    }
}
