import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// How test suites reach a real, signature-checking S3 (moto_server), and the trait that gates them on it.
///
/// The shared server is the one `Scripts/lib/s3.sh` starts (`ergon_s3_up`): its address and
/// credentials come from `ERGON_S3_ENDPOINT`, `ERGON_S3_REGION`, `ERGON_S3_ACCESS_KEY_ID` and
/// `ERGON_S3_SECRET_ACCESS_KEY`. Without it the tests skip with a message saying how to start it,
/// unless `ERGON_REQUIRE_S3=1`, where they fail instead. The helpers that read back what a test
/// stored go through boto3, independently of Ergon's own S3 client.
public enum S3TestServer {
    /// Where an S3 server is and the key that signs requests to it.
    public struct Connection: Sendable, Equatable {
        /// `http://HOST:PORT`, without a trailing slash.
        public var endpoint: String
        /// The signing region.
        public var region: String
        /// The access key ID.
        public var accessKeyID: String
        /// The secret that signs requests.
        public var secretAccessKey: String

        /// A connection to `endpoint` with the given key.
        public init(endpoint: String, region: String, accessKeyID: String, secretAccessKey: String) {
            self.endpoint = endpoint
            self.region = region
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }

        /// The `ERGON_S3_*` variables the helper scripts read.
        var environment: [String: String] {
            [
                "ERGON_S3_ENDPOINT": endpoint, "ERGON_S3_REGION": region,
                "ERGON_S3_ACCESS_KEY_ID": accessKeyID, "ERGON_S3_SECRET_ACCESS_KEY": secretAccessKey,
            ]
        }
    }

    /// A helper could not do its job (a Python script failed, a server did not start).
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong and, where known, how to fix it.
        public var description: String
    }

    /// The shared server is missing while `ERGON_REQUIRE_S3=1`.
    public struct Unavailable: Error, CustomStringConvertible {
        /// What is missing and how to get it.
        public var description: String
    }

    private static var variables: [String: String] { ProcessInfo.processInfo.environment }
    private static func variable(_ name: String) -> String? { variables[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// `ERGON_S3_ENDPOINT`.
    public static var endpoint: String? { variable("ERGON_S3_ENDPOINT") }
    /// `ERGON_S3_REGION`.
    public static var region: String? { variable("ERGON_S3_REGION") }
    /// `ERGON_S3_ACCESS_KEY_ID`.
    public static var accessKeyID: String? { variable("ERGON_S3_ACCESS_KEY_ID") }
    /// `ERGON_S3_SECRET_ACCESS_KEY`.
    public static var secretAccessKey: String? { variable("ERGON_S3_SECRET_ACCESS_KEY") }

    /// The shared server, when its endpoint and key are set (the region defaults to us-east-1).
    public static var connection: Connection? {
        guard let endpoint, let accessKeyID, let secretAccessKey else { return nil }
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        return Connection(
            endpoint: trimmed, region: region ?? "us-east-1", accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
    }

    /// The package's root directory (this file is `Tests/ErgonTestSupport/S3TestServer.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The interpreter with boto3: `ERGON_S3_PYTHON`, else the package's `.build/s3-venv`, else `python3`.
    public static var python: String {
        if let path = variable("ERGON_S3_PYTHON") { return path }
        let venv = packageRoot.appendingPathComponent(".build/s3-venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// True when `ERGON_REQUIRE_S3=1`: a missing server fails the tests instead of skipping them.
    public static var isRequired: Bool { variable("ERGON_REQUIRE_S3") == "1" }

    /// How to get what is missing.
    public static let setupHint = "start one with `source Scripts/lib/s3.sh && ergon_s3_tools && ergon_s3_up`"

    /// Why the shared server cannot be used, or nil when its variables are set and it answers HTTP.
    public static let unavailability: String? = probe()

    /// Throws when the server is unusable and required; true when it is usable, false to skip.
    public static func shouldRun() throws -> Bool {
        guard let reason = unavailability else { return true }
        if isRequired {
            throw Unavailable(description: "ERGON_REQUIRE_S3=1 but \(reason); \(setupHint)")
        }
        return false
    }

    private static func probe() -> String? {
        guard let endpoint else { return "ERGON_S3_ENDPOINT is not set" }
        guard accessKeyID != nil, secretAccessKey != nil else {
            return "ERGON_S3_ENDPOINT is set but ERGON_S3_ACCESS_KEY_ID or ERGON_S3_SECRET_ACCESS_KEY is not"
        }
        guard let address = HTTPStatusProbe.Address(url: endpoint) else {
            return "ERGON_S3_ENDPOINT=\(endpoint) is not an http:// URL with a host"
        }
        // moto serves its own API under /moto-api/ (an unsigned S3 request would only log a KeyError
        // there); any other S3 answers it too, with 403 or 404.
        let status = try? HTTPStatusProbe.status(of: address, path: "/moto-api/").wait()
        guard status != nil else {
            return "nothing answers HTTP on \(endpoint)"
        }
        return nil
    }

    // MARK: - Reading and writing through boto3

    /// Builds `client` from the `ERGON_S3_*` variables; no retries, so a refused call shows at once.
    private static let prelude = #"""
        import json, os, sys
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        def client(endpoint=None):
            return boto3.client(
                "s3", endpoint_url=endpoint or os.environ["ERGON_S3_ENDPOINT"], region_name=os.environ["ERGON_S3_REGION"],
                aws_access_key_id=os.environ["ERGON_S3_ACCESS_KEY_ID"],
                aws_secret_access_key=os.environ["ERGON_S3_SECRET_ACCESS_KEY"],
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                              retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60))

        def code(error):
            return error.response.get("Error", {}).get("Code")

        """#

    /// The exit status by which a helper script says the object does not exist.
    private static let missingStatus: Int32 = 3

    /// Creates a bucket with a fresh name (`ergon-test-` and 8 hex digits) with a signed call; returns the name.
    public static func makeBucket(in connection: Connection? = nil) throws -> String {
        let bucket = "ergon-test-" + String(format: "%08x", UInt32.random(in: .min ... .max))
        try runBoto3(#"client().create_bucket(Bucket=sys.argv[1])"#, [bucket], connection)
        return bucket
    }

    /// Stores `bytes` under `key` (one signed PUT).
    public static func putObject(bucket: String, key: String, bytes: [UInt8], in connection: Connection? = nil) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-s3-put-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = #"""
            with open(sys.argv[3], "rb") as body:
                client().put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=body.read())
            """#
        try runBoto3(script, [bucket, key, file.path], connection)
    }

    /// The object's bytes, or nil when the bucket has no such key (a missing bucket throws).
    public static func readObject(bucket: String, key: String, in connection: Connection? = nil) throws -> [UInt8]? {
        let script = #"""
            try:
                body = client().get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"].read()
            except ClientError as error:
                if code(error) == "NoSuchKey":
                    sys.exit(3)
                raise
            sys.stdout.buffer.write(body)
            """#
        let result = try runBoto3(script, [bucket, key], connection, allowing: missingStatus)
        return result.status == missingStatus ? nil : result.stdout
    }

    /// The object's checksum as the server reports it with checksum mode on (`ChecksumType`,
    /// and `ChecksumSHA256`, which for a multipart object is the composite: `<base64>-<parts>` on AWS);
    /// nil when it has none.
    public static func objectChecksumSHA256(
        bucket: String, key: String, in connection: Connection? = nil
    ) throws -> (type: String?, value: String)? {
        let script = #"""
            head = client().head_object(Bucket=sys.argv[1], Key=sys.argv[2], ChecksumMode="ENABLED")
            print(json.dumps([head.get("ChecksumType"), head.get("ChecksumSHA256")]))
            """#
        let result = try runBoto3(script, [bucket, key], connection)
        let fields = try JSONDecoder().decode([String?].self, from: Data(result.stdout))
        guard fields.count == 2, let value = fields[1] else { return nil }
        return (fields[0], value)
    }

    /// The keys under `prefix`, in S3's order; empty when there are none (a missing bucket throws).
    public static func listKeys(bucket: String, prefix: String = "", in connection: Connection? = nil) throws -> [String] {
        let script = #"""
            keys = []
            for page in client().get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]):
                keys.extend(item["Key"] for item in page.get("Contents", []))
            print(json.dumps(keys))
            """#
        let result = try runBoto3(script, [bucket, prefix], connection)
        return try JSONDecoder().decode([String].self, from: Data(result.stdout))
    }

    /// Runs `script` (after the client prelude) with `connection`'s variables; throws unless it exits 0
    /// or with `allowed`.
    @discardableResult
    private static func runBoto3(
        _ script: String, _ arguments: [String], _ connection: Connection?, allowing allowed: Int32? = nil
    ) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        guard let connection = connection ?? self.connection else {
            throw Failure(description: "ERGON_S3_ENDPOINT and the ERGON_S3_* credentials are not set; \(setupHint)")
        }
        let result = try runPython(prelude + script, arguments: arguments, environment: connection.environment)
        guard result.status == 0 || result.status == allowed else {
            var message = "\(python) failed (exit \(result.status)) talking to \(connection.endpoint): \(result.stderr)"
            if result.stderr.contains("No module named 'boto3'") {
                message += "; set ERGON_S3_PYTHON to a python with boto3 (`source Scripts/lib/s3.sh && ergon_s3_tools`)"
            }
            throw Failure(description: message)
        }
        return result
    }

    /// Runs `python -c script arguments…` with `environment` added to this process's, and waits for it.
    /// Output goes through files, so a large stdout (an object's bytes) cannot fill a pipe and block.
    public static func runPython(
        _ script: String, arguments: [String], environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let process = Process()
        if python.contains("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", script] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, "-c", script] + arguments
        }
        process.environment = variables.merging(environment) { $1 }
        let directory = FileManager.default.temporaryDirectory
        let stdoutFile = directory.appendingPathComponent("ergon-s3-python-\(UUID().uuidString).out")
        let stderrFile = directory.appendingPathComponent("ergon-s3-python-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: stdoutFile)
            try? FileManager.default.removeItem(at: stderrFile)
        }
        let stdout = try FileHandle(forWritingTo: stdoutFile)
        let stderr = try FileHandle(forWritingTo: stderrFile)
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? stdout.close()
            try? stderr.close()
            throw Failure(description: "cannot run \(python): \(error); \(setupHint)")
        }
        process.waitUntilExit()
        try? stdout.close()
        try? stderr.close()
        return (
            process.terminationStatus, Array(try Data(contentsOf: stdoutFile)),
            String(decoding: try Data(contentsOf: stderrFile), as: UTF8.self)
        )
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when the shared signature-checking S3 answers; with `ERGON_REQUIRE_S3=1`
    /// a missing server fails the test instead of skipping it.
    public static var s3Server: Self {
        .enabled(
            Comment(rawValue: "needs the S3 server on $ERGON_S3_ENDPOINT with the ERGON_S3_* credentials: "
                + "\(S3TestServer.setupHint); set ERGON_REQUIRE_S3=1 to fail instead")
        ) {
            try S3TestServer.shouldRun()
        }
    }
}

// MARK: - A private server

extension S3TestServer {
    /// Starts a moto_server of its own on a free loopback port, with signature checks and its own
    /// IAM user (set up by `Scripts/lib/s3-setup.py`, like the shared one). For tests that stop S3 for
    /// real; call ``PrivateS3Server/stop()``, or use ``withPrivateServer(_:)``.
    public static func startPrivateServer() async throws -> PrivateS3Server {
        let count = try runSetup(["--unauthenticated-calls"])
        let unauthenticated = String(decoding: count.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard count.status == 0, Int(unauthenticated) != nil else {
            throw Failure(description: "\(setupScript) --unauthenticated-calls failed: \(count.stderr)")
        }
        let server = try PrivateS3Server.launch(motoServer: motoServer, unauthenticatedCalls: unauthenticated)
        do {
            let port = try await server.waitForPort()
            let endpoint = "http://127.0.0.1:\(port)"
            let result = try runSetup([endpoint])
            guard result.status == 0 else {
                throw Failure(description: "setting up the private moto_server on \(endpoint) failed: \(result.stderr)")
            }
            struct Created: Decodable { var endpoint, region, accessKeyID, secretAccessKey: String }
            let created = try JSONDecoder().decode(Created.self, from: Data(result.stdout))
            server.connect(Connection(
                endpoint: created.endpoint, region: created.region,
                accessKeyID: created.accessKeyID, secretAccessKey: created.secretAccessKey))
            return server
        } catch {
            server.stop()
            throw error
        }
    }

    /// Runs `body` with a private server and stops the server afterwards, even when `body` throws.
    public static func withPrivateServer<Result>(_ body: (PrivateS3Server) async throws -> Result) async throws -> Result {
        let server = try await startPrivateServer()
        defer { server.stop() }
        return try await body(server)
    }

    /// The one setup script, shared with `Scripts/lib/s3.sh`.
    static var setupScript: String { packageRoot.appendingPathComponent("Scripts/lib/s3-setup.py").path }

    /// Runs `s3-setup.py arguments…` with ``python``.
    private static func runSetup(_ arguments: [String]) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let script = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        return try runPython(script, arguments: [setupScript] + arguments)
    }

    /// `ERGON_MOTO_SERVER`, else the package's `.build/s3-venv`, else `moto_server` on the PATH.
    public static var motoServer: String {
        if let path = variable("ERGON_MOTO_SERVER") { return path }
        let venv = packageRoot.appendingPathComponent(".build/s3-venv/bin/moto_server").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        let directories = (variable("PATH") ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/moto_server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "moto_server"
    }
}

/// A moto_server this test process started; it stops with ``stop()`` (or when released).
public final class PrivateS3Server: Sendable {
    /// The server's process id.
    public let pid: Int32
    /// Where its output goes.
    public let logPath: String
    private let process: Mutex<Process?>
    private let setUp = Mutex<S3TestServer.Connection?>(nil)

    /// The server's address and the key of its IAM user.
    public var connection: S3TestServer.Connection {
        guard let connection = setUp.withLock({ $0 }) else { preconditionFailure("PrivateS3Server used before setup") }
        return connection
    }
    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { connection.endpoint }
    /// The port it listens on.
    public var port: Int { URLComponents(string: endpoint)?.port ?? 0 }

    private init(process: sending Process, logPath: String) {
        self.pid = process.processIdentifier
        self.logPath = logPath
        self.process = Mutex(process)
    }

    deinit { stop() }

    /// Starts moto_server on port 0 (it picks a free port and logs it) in the background.
    static func launch(motoServer: String, unauthenticatedCalls: String) throws -> PrivateS3Server {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-moto-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: motoServer.contains("/") ? motoServer : "/usr/bin/env")
        process.arguments = (motoServer.contains("/") ? [] : [motoServer]) + ["-H", "127.0.0.1", "-p", "0"]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = unauthenticatedCalls
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw S3TestServer.Failure(description: "cannot run \(motoServer): \(error); \(S3TestServer.setupHint)")
        }
        return PrivateS3Server(process: process, logPath: log.path)
    }

    /// Waits up to 60 s for the "Running on http://127.0.0.1:PORT" line and for the server to answer.
    func waitForPort() async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = log.range(of: "Running on http://127.0.0.1:") {
                let port = Int(log[range.upperBound...].prefix { $0.isNumber }) ?? 0
                let address = HTTPStatusProbe.Address(host: "127.0.0.1", port: port, tls: false)
                if port > 0, try await HTTPStatusProbe.status(of: address, path: "/moto-api/").get() != nil {
                    return port
                }
            }
            guard process.withLock({ $0?.isRunning ?? false }) else {
                throw S3TestServer.Failure(description: "moto_server exited while starting: \(log.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw S3TestServer.Failure(description: "moto_server did not start within 60 s; see \(logPath)")
    }

    func connect(_ connection: S3TestServer.Connection) {
        setUp.withLock { $0 = connection }
    }

    /// Kills the server (SIGKILL: a child spawned from a Dispatch or Swift concurrency thread inherits
    /// a mask that blocks SIGTERM) and waits until it has exited; does nothing the second time.
    public func stop() {
        let running = process.withLock { $0.take() }
        guard let running else { return }
        if running.isRunning { kill(pid, SIGKILL) }
        running.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

// MARK: - A proxy that can cut S3 off

/// A TCP proxy on a loopback port in front of a server, which a test can pause to play an outage:
/// ``pause()`` closes the listening socket and resets every open connection, so clients see
/// "connection refused" or "connection reset"; ``resume()`` listens again on the same port.
public final class PausableTCPProxy: Sendable {
    private enum Phase { case listening, paused, shutDown }

    private struct State {
        var phase = Phase.listening
        var port = 0
        var listener: (any Channel)?
        var inbound: [ObjectIdentifier: any Channel] = [:]
        var outbound: [ObjectIdentifier: any Channel] = [:]
    }

    private struct Refused: Error {}

    private let targetHost: String
    private let targetPort: Int
    private let state = Mutex(State())
    private static var group: MultiThreadedEventLoopGroup { .singleton }

    /// The loopback port clients connect to; the same after a pause.
    public var port: Int { state.withLock { $0.port } }
    /// The client connections open now.
    public var openConnections: Int { state.withLock { $0.inbound.count } }

    private init(targetHost: String, targetPort: Int) {
        self.targetHost = targetHost
        self.targetPort = targetPort
    }

    /// Listens on a free port of 127.0.0.1 and forwards each connection to `targetHost:targetPort`.
    public static func start(targetHost: String, targetPort: Int) async throws -> PausableTCPProxy {
        let proxy = PausableTCPProxy(targetHost: targetHost, targetPort: targetPort)
        let listener = try await proxy.bind(port: 0).get()
        proxy.state.withLock {
            $0.listener = listener
            $0.port = listener.localAddress?.port ?? 0
        }
        return proxy
    }

    /// Closes the listening socket and resets every open connection; waits until they are closed.
    public func pause() {
        let (listener, channels) = state.withLock { state in
            if state.phase == .listening { state.phase = .paused }
            return takeAll(&state)
        }
        _ = try? listener?.close().wait()
        _ = try? Self.reset(channels).wait()
    }

    /// Listens again on the same port; does nothing when not paused. Retries for up to 5 s while the
    /// port is still taken, then records a test issue (so does resuming a proxy that was shut down).
    public func resume() {
        let port: Int? = state.withLock { state in
            guard state.phase == .paused else { return nil }
            state.phase = .listening
            return state.port
        }
        guard let port else {
            if state.withLock({ $0.phase == .shutDown }) { Issue.record("PausableTCPProxy.resume() after shutdown()") }
            return
        }
        let deadline = ContinuousClock.now + .seconds(5)
        var listener: (any Channel)?
        while listener == nil {
            do {
                listener = try bind(port: port).wait()
            } catch {
                guard ContinuousClock.now < deadline else {
                    state.withLock { $0.phase = .paused }
                    Issue.record("PausableTCPProxy cannot listen on 127.0.0.1:\(port) again: \(error)")
                    return
                }
                usleep(50_000)
            }
        }
        guard let listener else { return }
        let kept = state.withLock { state in
            guard state.phase == .listening, state.listener == nil else { return false }
            state.listener = listener
            return true
        }
        if !kept { _ = try? listener.close().wait() }
    }

    /// Stops listening and closes every connection for good.
    public func shutdown() async throws {
        let (listener, channels) = state.withLock { state in
            state.phase = .shutDown
            return takeAll(&state)
        }
        try? await listener?.close().get()
        try await Self.reset(channels).get()
    }

    private func takeAll(_ state: inout State) -> ((any Channel)?, [any Channel]) {
        defer {
            state.listener = nil
            state.inbound = [:]
            state.outbound = [:]
        }
        return (state.listener, Array(state.inbound.values) + Array(state.outbound.values))
    }

    /// Closes `channels` with SO_LINGER 0, so the peer gets a reset rather than an orderly end.
    private static func reset(_ channels: [any Channel]) -> EventLoopFuture<Void> {
        let closes = channels.map { channel in
            let linger = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                ?? channel.eventLoop.makeSucceededVoidFuture()
            return linger.flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
                .flatMap { channel.close() }
                .flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
        }
        return EventLoopFuture.andAllComplete(closes, on: group.any())
    }

    private func bind(port: Int) -> EventLoopFuture<any Channel> {
        ServerBootstrap(group: Self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [self] inbound in
                connectUpstream(for: inbound)
            }
            .bind(host: "127.0.0.1", port: port)
    }

    /// Connects to the target and glues the two channels together; both read nothing until then.
    /// Failing closes the accepted channel.
    private func connectUpstream(for inbound: any Channel) -> EventLoopFuture<Void> {
        guard track(inbound, pairedWith: nil) else { return inbound.eventLoop.makeFailedFuture(Refused()) }
        // The same event loop for both sides: the glue handlers call each other directly.
        return ClientBootstrap(group: inbound.eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: targetHost, port: targetPort)
            .flatMapThrowing { [self] outbound in
                guard track(outbound, pairedWith: inbound) else {
                    outbound.close(promise: nil)
                    throw Refused()
                }
                let (client, server) = ProxyGlueHandler.matchedPair()
                try inbound.pipeline.syncOperations.addHandler(client)
                try outbound.pipeline.syncOperations.addHandler(server)
                try outbound.syncOptions?.setOption(.autoRead, value: true)
                try inbound.syncOptions?.setOption(.autoRead, value: true)
            }
    }

    /// Records an open channel (an accepted one, or the upstream one of the accepted `inbound`), or
    /// refuses it while paused or once its accepted channel is gone; forgets it when it closes.
    private func track(_ channel: any Channel, pairedWith inbound: (any Channel)?) -> Bool {
        let id = ObjectIdentifier(channel)
        let outbound = inbound != nil
        let accepted = state.withLock { state in
            guard state.phase == .listening else { return false }
            if let inbound {
                guard state.inbound[ObjectIdentifier(inbound)] != nil else { return false }
                state.outbound[id] = channel
            } else {
                state.inbound[id] = channel
            }
            return true
        }
        if accepted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { outbound ? $0.outbound.removeValue(forKey: id) : $0.inbound.removeValue(forKey: id) }
            }
        }
        return accepted
    }
}

/// One of two handlers that pass bytes between a pair of channels on the same event loop. Reads on
/// one side wait while the other cannot take more writes, so a large upload is forwarded at the
/// pace the far end accepts it, without buffering it all.
private final class ProxyGlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: ProxyGlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func matchedPair() -> (ProxyGlueHandler, ProxyGlueHandler) {
        let first = ProxyGlueHandler()
        let second = ProxyGlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // The peer finished sending: pass the half-close on.
            partner?.context?.close(mode: .output, promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let partner, partner.pendingRead {
            partner.pendingRead = false
            partner.context?.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, let other = partner.context, !other.channel.isWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }
}

// MARK: - Probing an HTTP server

/// Asks a server for one path over plain TCP and reports the status of its answer.
enum HTTPStatusProbe {
    struct Address {
        var host: String
        var port: Int
        var tls: Bool

        init(host: String, port: Int, tls: Bool) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        /// From `http://HOST[:PORT]` or `https://…` (which is only connected to, not spoken to).
        init?(url: String) {
            guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
                let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https"
            else { return nil }
            self.init(host: host, port: components.port ?? (scheme == "https" ? 443 : 80), tls: scheme == "https")
        }
    }

    /// The HTTP status (0 for a TLS server that accepted the connection), or nil when nothing
    /// answers within 5 s.
    static func status(of address: Address, path: String) -> EventLoopFuture<Int?> {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let promise = loop.makePromise(of: Int?.self)
        let timeout = loop.scheduleTask(in: .seconds(5)) { promise.succeed(nil) }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(3))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusLineHandler(promise: promise))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                switch result {
                case .failure:
                    promise.succeed(nil)
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    if address.tls {
                        promise.succeed(0)
                    } else {
                        let request = "GET \(path) HTTP/1.1\r\nHost: \(address.host):\(address.port)\r\nConnection: close\r\n\r\n"
                        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                    }
                }
            }
        return promise.futureResult
    }

    /// Completes the promise with the status of the first response line (nil when there is none).
    private final class StatusLineHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let promise: EventLoopPromise<Int?>
        private var received: [UInt8] = []

        init(promise: EventLoopPromise<Int?>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            if received.contains(UInt8(ascii: "\n")) || received.count > 4096 {
                promise.succeed(status())
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(status())
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.succeed(nil)
            context.close(promise: nil)
        }

        private func status() -> Int? {
            let line = String(decoding: received.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            let fields = line.split(separator: " ")
            guard fields.count >= 2, fields[0].hasPrefix("HTTP/") else { return nil }
            return Int(fields[1])
        }
    }
}
