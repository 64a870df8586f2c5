import AsyncHTTPClient
import ErgonCore
import ErgonTestSupport
import Foundation
import Logging
import Synchronization
import Testing
import VastSimulator

@testable import ErgonVast

/// The scheduler in vast mode against an in-process simulator. Simulated time drives both:
/// a ticker advances the simulator's manual clock, and the scheduler reads the same clock,
/// so provisioning deadlines and run times are in simulated seconds.
final class VastAgentFixture: Sendable {
    let sim: VastSimulatorHarness
    let queue: MemoryTaskQueue
    let config: ErgonConfig
    let store: FileLogStore
    let http: HTTPClient
    let client: VastClient
    let backend: VastBackend
    let runner = Mutex<(scheduler: Scheduler, task: Task<Void, Error>)?>(nil)
    let ticker = Mutex<Task<Void, Never>?>(nil)

    /// Simulated seconds per 50 ms of real time: five times real time. Faster makes a slow
    /// HTTP answer on a loaded machine look like minutes of provisioning.
    static let speed = 0.25

    init(sim: VastSimulatorHarness, queue: MemoryTaskQueue = MemoryTaskQueue(), agentID: String = "vt-\(UUID().uuidString.prefix(6).lowercased())",
         hosts: HostReputation? = nil, configure: (inout ErgonConfig) -> Void = { _ in }) throws {
        self.sim = sim
        self.queue = queue
        let dir = NSTemporaryDirectory() + "ergon-vast-test-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = ErgonConfig(agentID: agentID, mode: .vast, dataDir: dir)
        config.scheduler.pollInterval = .milliseconds(100)
        config.scheduler.provisioningTimeout = .seconds(60)
        config.scheduler.orderingGrace = .seconds(30)
        config.vast.url = sim.baseURL
        config.vast.apiKey = sim.apiKey
        configure(&config)
        self.config = config
        self.store = FileLogStore(directory: dir + "/logs")
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: VastClient.httpConfiguration)
        let retry = VastRetryPolicy(
            attempts: 4, initialDelay: .milliseconds(10), multiplier: 1.5, maxRetryAfter: .seconds(2), logPollAttempts: 10,
            logPollDelay: .milliseconds(20), requestTimeout: .seconds(10))
        var logger = Logger(label: "ergon.test.vast")
        logger.logLevel = .warning
        self.client = VastClient(baseURL: URL(string: sim.baseURL)!, apiKey: sim.apiKey, httpClient: http, retry: retry, logger: logger)
        let clock = sim.clock
        self.backend = try VastBackend(
            client: client, settings: config.vast, agentID: config.agentID, hosts: hosts ?? HostReputation(now: { clock.now() }),
            destroyConfirmation: .seconds(5), logger: logger)
    }

    /// Starts the scheduler and the simulated clock.
    func start() {
        var logger = Logger(label: "ergon.test.\(config.agentID)")
        logger.logLevel = .warning
        let clock = sim.clock
        let scheduler = Scheduler(
            config: config, queue: queue, backend: backend, logStore: store, gpus: [], logger: logger, now: { clock.now() })
        let task = Task { try await scheduler.run() }
        runner.withLock { $0 = (scheduler, task) }
        ticker.withLock { current in
            guard current == nil else { return }
            current = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(50))
                    clock.advance(by: Self.speed)
                }
            }
        }
    }

    /// Drains the scheduler (instances are left alone, as on SIGTERM).
    func drain() async throws {
        guard let (scheduler, task) = runner.withLock({ state in defer { state = nil }; return state }) else { return }
        scheduler.drain()
        try await task.value
    }

    /// Drains, stops the clock and shuts the HTTP client down.
    func stop() async throws {
        try await drain()
        ticker.withLock { $0?.cancel(); $0 = nil }
        try await http.shutdown()
    }

    @discardableResult
    func submit(_ tasks: [TaskSpec]) async throws -> [String: TaskRecord] {
        let (_, records) = try await queue.submit(WorkflowSpec(name: "w", tasks: tasks), defaultMaxAttempts: 3, at: sim.clock.now())
        return Dictionary(uniqueKeysWithValues: records.map { ($0.spec.slug, $0) })
    }

    func waitFor(_ id: UUID, timeout: Duration = .seconds(90), sourceLocation: SourceLocation = #_sourceLocation,
                 _ condition: @Sendable (TaskRecord) -> Bool) async throws -> TaskRecord {
        try await waitForTask(in: queue, id, timeout: timeout, sourceLocation: sourceLocation, condition)
    }

    func waitEnded(_ id: UUID, timeout: Duration = .seconds(90), sourceLocation: SourceLocation = #_sourceLocation) async throws -> TaskRecord {
        try await waitFor(id, timeout: timeout, sourceLocation: sourceLocation) { $0.state.isTerminal }
    }

    func log(_ id: UUID, attempt: Int = 1) async throws -> String {
        let workflowID = try await queue.task(id)?.workflowID ?? UUID()
        let key = LogKey(workflowID: workflowID, taskID: id, attempt: attempt)
        return String(decoding: try await store.read(key: key, from: 0) ?? [], as: UTF8.self)
    }

    /// Every instance the simulator ever made for a task, oldest first.
    func instances(of task: UUID) async -> [JSONValue] {
        await sim.vast.allInstances().filter { $0["label"]?.stringValue.flatMap(InstanceLabel.init(vastLabel:))?.taskID == task }
    }

    /// A task for the simulator: `SIM_*` variables script what its command does.
    static func task(_ slug: String, parents: [String] = [], run: Double = 3, exit: Int = 0, selfStop: Bool = false,
                     extra: [String: String] = [:]) -> TaskSpec {
        var env = ["SIM_RUN_SECONDS": String(run), "SIM_EXIT_CODE": String(exit), "SIM_LOAD_SECONDS": "2"]
        if selfStop { env["SIM_SELF_STOP"] = "1" }
        env.merge(extra) { _, new in new }
        return TaskSpec(slug: slug, image: "ergon/sim-worker:1", command: .exec(["worker"]), entrypoint: [], env: env, parents: parents)
    }
}
