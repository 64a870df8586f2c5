import ErgonCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import Synchronization

/// The agent's HTTP server: the worker API rented hosts call back (WORKER_CONTRACT.md) and the
/// operator's task API, on `server.listen`, with TLS when `server.tls` is set.
///
/// It is a `Service`: ``run()`` serves until a graceful shutdown or cancellation. Tests build
/// the application with ``makeApplication(onListening:)`` or the router with ``makeRouter()``.
public struct ErgonServer: Service {
    public let config: ErgonConfig.Server
    public let dependencies: ServerDependencies
    /// Called with the bound port once the server listens (useful with port 0).
    public let onListening: @Sendable (Int) async -> Void
    /// Renders the agent's metrics in Prometheus's text format for `GET /metrics`; nil: no such route.
    public let metrics: (@Sendable () -> String)?

    public init(
        config: ErgonConfig.Server, dependencies: ServerDependencies,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }, metrics: (@Sendable () -> String)? = nil
    ) {
        self.config = config
        self.dependencies = dependencies
        self.metrics = metrics
        self.onListening = onListening
    }

    /// Serves until gracefully shut down; throws when it cannot start (no `listen`, bad TLS files,
    /// port taken).
    public func run() async throws {
        StagingFiles(directory: dependencies.uploadDirectory).sweep()
        let listening = Mutex(false)
        let report = onListening
        do {
            try await makeApplication(onListening: { port in
                listening.withLock { $0 = true }
                await report(port)
            }).run()
        } catch let error as ServerStartError {
            throw error
        } catch where !listening.withLock({ $0 }) {
            // Before it listens, a failure is about `listen` (a port taken, an address not here).
            let address = config.listen.map { "\($0)" } ?? "off"
            throw ServerStartError("server.listen \(address): cannot listen there: \(Self.describe(error))")
        }
    }

    /// A bind error in words (NIO's own text repeats the system call).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Address already in use") {
            return "the address is already in use (another agent or program listens there; choose another port, or listen: off)"
        }
        if text.contains("Cannot assign requested address") { return "no interface of this machine has that address" }
        if text.contains("Permission denied") { return "permission denied (ports below 1024 need privileges)" }
        return text
    }

    /// The Hummingbird application: the router on `listen`, wrapped in TLS when configured.
    public func makeApplication(
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        guard let listen = config.listen else {
            throw ServerStartError("server.listen is off: there is nothing to listen on")
        }
        let logger = dependencies.logger
        let host = listen.host
        return Application(
            router: makeRouter(),
            server: try serverBuilder(),
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "ergon"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                logger.info("server listening", metadata: ["address": "\(ErgonConfig.Server.ListenAddress(host: host, port: port))"])
                await onListening(port)
            },
            logger: logger)
    }

    /// Every route of both APIs, answering errors as JSON.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: APIErrorMiddleware(logger: dependencies.logger))
        router.get("/api/v1/openapi/") { _, _ in APIJSON.raw(OpenAPIDocument.json) }
        let gate = WorkerGate(queue: dependencies.queue, logger: dependencies.logger, now: dependencies.now)
        let origin = RequestOrigin(publicURL: config.publicURL, tls: config.tls != nil)
        WorkerRoutes(dependencies: dependencies, gate: gate, origin: origin).add(to: router)
        UploadRoutes(dependencies: dependencies, gate: gate).add(to: router)
        ResourceRoutes(dependencies: dependencies, gate: gate, origin: origin).add(to: router)
        OperatorRoutes(dependencies: dependencies, operatorToken: config.operatorToken).add(to: router)
        if let metrics { MetricsRoute(render: metrics, operatorToken: config.operatorToken, logger: dependencies.logger).add(to: router) }
        return router
    }

    /// Plain HTTP/1.1, or HTTP/1.1 over TLS with the PEM certificate chain and key of `server.tls`.
    func serverBuilder() throws -> HTTPServerBuilder {
        guard let tls = config.tls else { return .http1() }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile)
        } catch {
            throw ServerStartError("server.tls_cert \(tls.certificateFile): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else {
            throw ServerStartError("server.tls_cert \(tls.certificateFile): holds no certificate")
        }
        do {
            key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
        } catch {
            throw ServerStartError("server.tls_key \(tls.keyFile): not a readable PEM private key (\(error))")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .tls(.http1(), tlsConfiguration: configuration)
    }
}

/// Why the server could not start, naming the setting at fault.
public struct ServerStartError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
