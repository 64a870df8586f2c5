import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ErgonDocker

/// An agent for tests: a temporary data_dir, the SQLite queue, the real Docker engine, and a
/// Scheduler running in the background until `stop()`.
final class AgentHarness: Sendable {
    let config: ErgonConfig
    let queue: SQLiteTaskQueue
    let client: DockerEngineClient
    let backend: DockerBackend
    let store: any LogStore
    let runner: Mutex<(scheduler: Scheduler, task: Task<Void, Error>)?>

    /// A harness with a fresh data_dir (or `dataDir` to share one with an earlier harness).
    init(agentID: String? = nil, dataDir: String? = nil, poll: Duration = .milliseconds(500), store: (any LogStore)? = nil,
         configure: (inout ErgonConfig) -> Void = { _ in }) throws {
        let dir = try dataDir ?? Self.temporaryDirectory()
        var config = ErgonConfig(agentID: agentID ?? "t-\(UUID().uuidString.lowercased().prefix(10))", dataDir: dir)
        config.scheduler.pollInterval = poll
        config.scheduler.maxParallelTasks = 4
        config.docker.socket = DockerTestEngine.socketPath
        config.docker.network = "none"
        configure(&config)
        self.config = config
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.queue = try SQLiteTaskQueue(path: dir + "/queue.sqlite", wakeupFile: config.wakeupFile)
        self.client = DockerEngineClient(socketPath: config.docker.socket)
        self.backend = DockerBackend(client: client, settings: config.docker, agentID: config.agentID)
        self.store = store ?? FileLogStore(directory: dir + "/logs")
        self.runner = Mutex(nil)
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ergon-cli-test-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts the scheduler loop in the background.
    func start(gpus: [String] = []) {
        var logger = Logger(label: "ergon.test.\(config.agentID)")
        logger.logLevel = .warning
        let scheduler = Scheduler(
            config: config, queue: queue, backend: backend, logStore: store, gpus: gpus, logger: logger)
        let task = Task {
            do {
                try await scheduler.run()
            } catch {
                // A scheduler that cannot start would otherwise show only as tasks that never run.
                Issue.record("the scheduler of \(self.config.agentID) stopped: \(error)")
                throw error
            }
        }
        runner.withLock { $0 = (scheduler, task) }
    }

    /// Drains the scheduler (no new claims, running containers left alone) and waits for it.
    func drain() async throws {
        guard let (scheduler, task) = runner.withLock({ state in defer { state = nil }; return state }) else { return }
        scheduler.drain()
        try await task.value
    }

    /// Drains, removes every container of this agent, and shuts the client down.
    func stop() async throws {
        try await drain()
        for instance in (try? await backend.list()) ?? [] {
            try? await backend.destroy(instanceID: instance.id)
        }
        try await client.shutdown()
    }

    /// Submits a workflow.
    @discardableResult
    func submit(_ name: String, _ tasks: [TaskSpec], volumes: [String] = []) async throws -> [String: TaskRecord] {
        let (_, records) = try await queue.submit(
            WorkflowSpec(name: name, tasks: tasks, volumes: volumes), defaultMaxAttempts: 3, at: Date())
        WakeupFile(path: config.wakeupFile).touch()
        return Dictionary(uniqueKeysWithValues: records.map { ($0.spec.slug, $0) })
    }

    /// Waits until `condition` holds for the task, or fails after `timeout`.
    @discardableResult
    func waitFor(
        _ id: UUID, timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: @Sendable (TaskRecord) -> Bool
    ) async throws -> TaskRecord {
        try await waitForTask(in: queue, id, timeout: timeout, sourceLocation: sourceLocation, condition)
    }

    /// Waits until the task is in a terminal state.
    @discardableResult
    func waitEnded(_ id: UUID, timeout: Duration = .seconds(60)) async throws -> TaskRecord {
        try await waitFor(id, timeout: timeout) { $0.state.isTerminal }
    }

    /// The stored log of an attempt, as text.
    func log(_ id: UUID, attempt: Int = 1) async throws -> String {
        let workflowID = try await queue.task(id)?.workflowID ?? UUID()
        let key = LogKey(workflowID: workflowID, taskID: id, attempt: attempt)
        return String(decoding: try await store.read(key: key, from: 0) ?? [], as: UTF8.self)
    }
}

