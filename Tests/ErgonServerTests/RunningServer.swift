import ErgonServer
import Foundation
import Logging
import ServiceLifecycle

/// Runs an ``ErgonServer`` as a service on a real socket, hands `body` the port it bound once it
/// listens, and shuts it down gracefully afterwards (also when `body` throws).
func withRunningServer<T: Sendable>(
    _ server: ErgonServer, logger: Logger, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let listening = ErgonServer(
        config: server.config, dependencies: server.dependencies,
        onListening: { port in
            continuation.yield(port)
            continuation.finish()
        },
        metrics: server.metrics)
    let group = ServiceGroup(services: [listening], gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
        tasks.addTask {
            defer { continuation.finish() }
            try await group.run()
        }
        let outcome: Result<T, any Error>
        do {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw FixtureError("the server stopped before it listened") }
            outcome = .success(try await body(port))
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try outcome.get()
    }
}

/// Runs a program to its end without blocking a thread of the cooperative pool; returns its
/// exit status and everything it printed (stdout then stderr).
func runProgram(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-server-python-\(UUID().uuidString).txt")
    guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
        throw FixtureError("cannot create \(output.path) for the program's output")
    }
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    try handle.close()
    return (status, String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self))
}
