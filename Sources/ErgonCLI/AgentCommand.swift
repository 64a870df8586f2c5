import ArgumentParser
import ErgonCore
import ErgonDocker
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `ergon agent`: runs the scheduler loop in the foreground until SIGTERM or SIGINT.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: claim tasks from the queue and run them until SIGTERM/SIGINT.",
        discussion: """
            On SIGTERM or SIGINT the agent stops claiming, lets the actions it started finish, and exits \
            without touching running containers; the next start re-adopts them from their labels.
            """)

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw UserError("--log-level: unknown level \"\(logLevel)\" (use trace, debug, info, notice, warning, error or critical)")
        }
        let config = try options.load()
        LogSetup.bootstrap(level: level)
        let logger = Logger(label: "ergon.agent")
        let queue = try config.openQueue()
        let gpus: [String]
        do {
            gpus = try GPUInventory.resolve(config.docker.gpus)
        } catch {
            throw EnvironmentError("\(config.source): docker.gpus: \(error)")
        }
        try await DockerBackend.withBackend(settings: config.docker, agentID: config.agentID, gpus: gpus, logger: logger) {
            backend in
            do {
                try await backend.prepare()
            } catch {
                throw EnvironmentError("\(error)")
            }
            let scheduler = Scheduler(
                config: config, queue: queue, backend: backend, logStore: config.openLogStore(), gpus: gpus,
                logger: logger)
            logger.info(
                "queue \(config.queue), logs \(config.logStore), up to \(config.scheduler.maxParallelTasks) task(s) at once, GPUs: \(gpus.isEmpty ? "none" : gpus.joined(separator: ","))")
            let group = ServiceGroup(
                services: [scheduler], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

/// Installs the process-wide log handler once (standard error, at the chosen level).
enum LogSetup {
    private static let done = Mutex(false)

    static func bootstrap(level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
