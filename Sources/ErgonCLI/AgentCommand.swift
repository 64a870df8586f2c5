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
        var gpus: [String] = []
        if config.mode == .docker {
            do {
                gpus = try GPUInventory.resolve(config.docker.gpus)
            } catch {
                throw EnvironmentError("\(config.source): docker.gpus: \(error)")
            }
        }
        try await ConfiguredBackend.with(config, gpus: gpus, logger: logger) { backend in
            let scheduler = Scheduler(
                config: config, queue: queue, backend: backend, logStore: config.openLogStore(), gpus: gpus,
                logger: logger)
            let where_ = config.mode == .vast
                ? "Vast API \(config.vast.url), one rented GPU per task"
                : "GPUs: \(gpus.isEmpty ? "none" : gpus.joined(separator: ","))"
            logger.info(
                "\(config.mode.rawValue) mode, queue \(config.queue), logs \(config.logStore), up to \(config.scheduler.maxParallelTasks) task(s) at once, \(where_)")
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
