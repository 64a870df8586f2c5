import ArgumentParser
import ErgonCore
import ErgonDocker
import ErgonS3
import ErgonServer
import ErgonVast
import Foundation
import Logging
import Metrics
import Prometheus
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
        MemoryReturner.limitArenas()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw UserError("--log-level: unknown level \"\(logLevel)\" (use trace, debug, info, notice, warning, error or critical)")
        }
        let config = try options.load()
        LogSetup.bootstrap(level: level, format: config.logFormat)
        let metrics = MetricsSetup.bootstrap()
        let logger = Logger(label: "ergon.agent")
        let environment = ProcessInfo.processInfo.environment
        for warning in SecretFileCheck.warnings(configPath: options.config, config: config, environment: environment) {
            logger.warning("\(warning)")
        }
        let queue = try await config.openQueue()
        var gpus: [String] = []
        if config.mode == .docker {
            do {
                gpus = try GPUInventory.resolve(config.docker.gpus)
            } catch {
                throw EnvironmentError("\(config.source): docker.gpus: \(error)")
            }
        }
        try await config.withLogStore { logStore in
            try await Self.checkLogStore(logStore, config: config, logger: logger)
            try await config.withArtifactStore { artifacts in
                if let s3 = artifacts as? S3ArtifactStore {
                    try await Self.checkBucket(
                        s3.client, bucket: s3.bucket, prefix: s3.prefix, what: "artifacts.store \(config.artifactStore)",
                        config: config, logger: logger)
                }
                let cacheLock = try CacheDirectoryLock(config: config)
                defer { withExtendedLifetime(cacheLock) {} }
                try await config.withResourceCache { cache in
                    try await ConfiguredBackend.with(config, gpus: gpus, logger: logger) { backend in
                        let scheduler = Scheduler(
                            config: config, queue: queue, backend: backend, logStore: logStore, artifactStore: artifacts,
                            resources: cache, gpus: gpus, logger: logger)
                        var services: [any Service] = [
                            scheduler,
                            CacheKeeper(config: config, cache: cache, images: (backend as? DockerBackend)?.images, logger: logger),
                            MemoryReturner(),
                        ]
                        if let settings = WorkflowNotifier.Settings(config.notify, pollInterval: config.scheduler.pollInterval) {
                            services.append(
                                WorkflowNotifier(
                                    settings: settings, agentID: config.agentID, queue: queue, transport: HTTPWebhookTransport(),
                                    logger: Logger(label: "ergon.notify")))
                        }
                        if let server = try AgentServer.make(
                            config: config, queue: queue, artifacts: artifacts, resources: cache, logStore: logStore,
                            metrics: { metrics.emitToString() }, shellProbe: (backend as? VastBackend)?.imageShellProbe(), logger: logger)
                        {
                            services.append(server)
                        }
                        let where_ = config.mode == .vast
                            ? "Vast API \(config.vast.url), one rented GPU per task"
                            : "GPUs: \(gpus.isEmpty ? "none" : gpus.joined(separator: ","))"
                        let api = config.server.listen.map { "API on \($0)" } ?? "no API"
                        logger.info(
                            "\(config.mode.rawValue) mode, queue \(config.queue), logs \(config.logStore), artifacts \(config.artifactStore), \(api), up to \(config.scheduler.maxParallelTasks) task(s) at once, \(where_)")
                        let group = ServiceGroup(
                            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
                        do {
                            try await group.run()
                        } catch let error as ServerStartError {
                            throw EnvironmentError("\(config.source): \(error)")
                        }
                    }
                }
            }
        }
    }

    /// Refuses to start with an S3 store that rejects the credentials or has no such bucket
    /// (nothing would ever be stored); an unreachable one only warns, since the spool keeps
    /// every log until it answers.
    static func checkLogStore(_ store: any LogStore, config: ErgonConfig, logger: Logger) async throws {
        guard let s3 = store as? S3LogStore else { return }
        try await checkBucket(
            s3.client, bucket: s3.bucket, prefix: s3.prefix, what: "logs.store \(config.logStore)", config: config,
            logger: logger)
    }

    /// A read of a key that does not exist: answered 404 when the credentials are good. A bad
    /// signature or key, or a missing bucket, stops the agent; AccessDenied may only mean no
    /// ListBucket permission, so it warns, like a store that does not answer yet.
    static func checkBucket(
        _ client: S3Client, bucket: String, prefix: String, what: String, config: ErgonConfig, logger: Logger
    ) async throws {
        let probe = prefix.isEmpty ? ".ergon-access-check" : prefix + "/.ergon-access-check"
        do {
            _ = try await client.with(retry: .once).getObject(bucket: bucket, key: probe, limit: 1)
        } catch let error as S3Error
            where error.kind == .noSuchBucket || (error.kind == .authentication && error.code != "AccessDenied")
        {
            throw EnvironmentError("\(config.source): \(what): \(error)")
        } catch {
            logger.warning("\(what) does not answer yet; the agent keeps what it must store until it does: \(error)")
        }
    }
}

/// Installs the process-wide log handler once (standard error, at the chosen level).
enum LogSetup {
    private static let done = Mutex(false)

    static func bootstrap(level: Logger.Level, format: ErgonConfig.LogFormat = .text) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// Installs the process-wide metrics backend once: a Prometheus registry that the server's
/// `GET /metrics` renders.
enum MetricsSetup {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    static func bootstrap() -> PrometheusCollectorRegistry {
        registry.withLock { stored in
            if let stored { return stored }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            stored = made
            return made
        }
    }
}
