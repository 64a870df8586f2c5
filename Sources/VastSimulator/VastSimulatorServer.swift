import ErgonDocker
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The Vast API look-alike as an HTTP server: ``SimulatedVast`` behind Hummingbird.
///
/// ```swift
/// var options = SimulatorOptions()
/// options.port = 8765
/// let server = VastSimulatorServer(options: options)
/// try await server.runUntilSignalled()          // the `ergon vast-sim` command
///
/// try await VastSimulatorServer.withRunning(options: options) { server in
///     let url = try await server.baseURL()      // http://127.0.0.1:PORT
/// }
/// ```
///
/// It is a `Service`: ``run()`` serves until its task is cancelled or a graceful shutdown is
/// triggered, then removes the containers it made in `--docker` mode.
public final class VastSimulatorServer: Service, Sendable {
    /// The options it was made with.
    public let options: SimulatorOptions
    /// The simulated account and market, for direct inspection in tests.
    public let vast: SimulatedVast
    private let boundPort = PortPromise()
    /// The value of the `ergon-vast-sim.server` label on this simulator's containers (`--docker`),
    /// which tells them from those of other simulators on the same engine.
    public let containerTag = UUID().uuidString.lowercased()

    /// A server for `options`; nothing happens until ``run()``.
    public init(options: SimulatorOptions) {
        self.options = options
        self.vast = SimulatedVast(options: options)
    }

    /// The port it listens on, once it does; throws when it failed to start.
    public func port() async throws -> Int {
        try await boundPort.value()
    }

    /// `http://HOST:PORT`, once it listens (the `--url` of the official CLI).
    public func baseURL() async throws -> String {
        let host = options.host == "0.0.0.0" || options.host == "::" ? "127.0.0.1" : options.host
        return "http://\(host):\(try await port())"
    }

    /// Serves until cancelled or gracefully shut down.
    public func run() async throws {
        var client: DockerEngineClient?
        var runner: DockerRunner?
        if let socket = options.dockerSocket {
            let docker = DockerEngineClient(socketPath: socket, logger: options.logger)
            do {
                try await docker.ping()
            } catch {
                try? await docker.shutdown()
                let failure = SimulatorStartError(description: "--docker: no Docker engine answers on \(socket): \(error)")
                boundPort.fail(failure)
                throw failure
            }
            client = docker
            runner = DockerRunner(client: docker, serverTag: containerTag, vast: vast, logger: options.logger)
            await vast.attach(runner)
        }
        let router = SimulatorRouter(vast: vast, port: boundPort, logger: options.logger)
        let boundPort = self.boundPort
        let onListening = options.onListening
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await router.respond(to: request) },
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.fulfil(port)
                onListening?(port)
            },
            logger: options.logger)
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await application.run() }
                if let runner { group.addTask { await runner.run() } }
                // The application ends first (shutdown or error); the runner only on cancellation.
                try await group.next()
                group.cancelAll()
            }
        } catch {
            failure = error
        }
        boundPort.fail(failure ?? SimulatorStartError(description: "the simulator stopped"))
        if let runner, let client {
            let vast = self.vast
            // Clean-up must run even though this task may be cancelled: an unstructured task does
            // not inherit the cancellation.
            await Task {
                await runner.removeAll()
                await vast.attach(nil)
                try? await client.shutdown()
            }.value
        }
        if let failure, !(failure is CancellationError) { throw failure }
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: the `ergon vast-sim` command.
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: options.logger)
        try await group.run()
    }

    /// Starts a simulator, hands it to `body` once it listens, and stops it afterwards (also when
    /// `body` throws), removing its containers in `--docker` mode.
    public static func withRunning<Result: Sendable>(
        options: SimulatorOptions, _ body: (VastSimulatorServer) async throws -> Result
    ) async throws -> Result {
        let server = VastSimulatorServer(options: options)
        // A service group shuts the server down gracefully (open connections finish) rather than
        // cancelling it mid-request.
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: options.logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { tasks in
            tasks.addTask { try await group.run() }
            let outcome: Swift.Result<Result, any Error>
            do {
                _ = try await server.port()
                outcome = .success(try await body(server))
            } catch {
                outcome = .failure(error)
            }
            await group.triggerGracefulShutdown()
            let stopped: (any Error)?
            do {
                try await tasks.waitForAll()
                stopped = nil
            } catch {
                stopped = error
            }
            let result = try outcome.get()
            if let stopped { throw stopped }
            return result
        }
    }
}
