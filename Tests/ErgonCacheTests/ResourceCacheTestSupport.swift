import AsyncHTTPClient
import ErgonCache
import ErgonCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP file server on 127.0.0.1 for the cache's tests: serves `/files/<name>`, counts
/// requests, and can cut a response short (half its announced bytes, then the connection closes).
final class ResourceFileServer: Sendable {
    private struct State {
        var files: [String: [UInt8]] = [:]
        var requests: [String: Int] = [:]
        var cutShort: Set<String> = []
        var delay: Duration = .zero
        var port = 0
    }

    private let state = Mutex(State())

    private init() {}

    /// `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(state.withLock { $0.port })" }

    /// Serves `bytes` as `/files/<name>`.
    func serve(_ name: String, _ bytes: [UInt8]) {
        state.withLock { $0.files[name] = bytes }
    }

    /// The URL of `/files/<name>`.
    func url(_ name: String) -> String { baseURL + "/files/" + name }

    /// Requests seen for `/files/<name>`.
    func requests(_ name: String) -> Int { state.withLock { $0.requests[name] ?? 0 } }

    /// The next answer for `name` sends half its bytes, then closes the connection.
    func cutNextShort(_ name: String) { _ = state.withLock { $0.cutShort.insert(name) } }

    /// Every answer waits this long before its head (to make downloads overlap).
    func delayAnswers(by delay: Duration) { state.withLock { $0.delay = delay } }

    private struct CutShort: Error {}

    private func answer(_ name: String) async throws -> Response {
        let (bytes, delay, cut) = state.withLock { state -> ([UInt8]?, Duration, Bool) in
            state.requests[name, default: 0] += 1
            return (state.files[name], state.delay, state.cutShort.remove(name) != nil)
        }
        guard let bytes else { return Response(status: .notFound) }
        if delay > .zero { try await Task.sleep(for: delay) }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(contentLength: bytes.count) { writer in
                if cut {
                    try await writer.write(ByteBuffer(bytes: bytes[..<(bytes.count / 2)]))
                    try await Task.sleep(for: .milliseconds(100))
                    throw CutShort()
                }
                try await writer.write(ByteBuffer(bytes: bytes))
                try await writer.finish(nil)
            })
    }

    /// Runs a server on a free port for the time of `body`.
    static func withRunning<Result: Sendable>(_ body: (ResourceFileServer) async throws -> Result) async throws -> Result {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let server = ResourceFileServer()
        let router = Router()
        router.get("/files/:name") { _, context -> Response in
            guard let name = context.parameters.get("name") else { return Response(status: .notFound) }
            return try await server.answer(name)
        }
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "resource-file-server", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            server.state.withLock { $0.port = port }
            return try await body(server)
        }
    }
}

/// Downloads `source.url` with AsyncHTTPClient, starting over each time: the fetcher the cache's
/// tests use while the real one is written beside them.
struct TestHTTPFetcher: ResourceFetcher {
    func fetch(
        _ source: ResourceSource, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(HTTPClientRequest(url: source.url), timeout: .seconds(30))
        } catch {
            throw ResourceError(.fetchFailed, "\(source.url): \(error)")
        }
        guard response.status == .ok else {
            throw ResourceError(response.status == .notFound ? .unavailable : .fetchFailed, "\(source.url): \(response.status)")
        }
        let announced = response.headers.first(name: "content-length").flatMap { Int64($0) }
        try await announceSize(announced)
        guard FileManager.default.createFile(atPath: destination, contents: nil), let file = FileHandle(forWritingAtPath: destination)
        else {
            throw ResourceError(.fetchFailed, "\(destination): cannot write")
        }
        defer { try? file.close() }
        var written: Int64 = 0
        do {
            for try await chunk in response.body {
                try file.write(contentsOf: Array(chunk.readableBytesView))
                written += Int64(chunk.readableBytes)
            }
        } catch {
            throw ResourceError(.fetchFailed, "\(source.url): the answer broke off after \(written) bytes: \(error)")
        }
        if let announced, announced != written {
            throw ResourceError(.fetchFailed, "\(source.url): the answer ended after \(written) of its \(announced) bytes")
        }
        return FetchedContent(contentType: response.headers.first(name: "content-type"), bytes: written)
    }
}

/// Test helpers: a settable clock, `tar`, temporary folders, hashes.
enum CacheTestKit {
    /// A clock the test moves by hand.
    final class Clock: Sendable {
        private let current: Mutex<Date>
        init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = Mutex(start) }
        var now: Date { current.withLock { $0 } }
        func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
        var read: @Sendable () -> Date { { self.now } }
    }

    /// Runs `/usr/bin/tar` with `arguments` and throws when it fails.
    static func tar(_ arguments: [String]) async throws {
        _ = try await run("/usr/bin/tar", arguments)
    }

    /// The SHA-256 of a file, by coreutils' `sha256sum` (independent of the cache's own hashing).
    static func sha256(ofFile path: String) async throws -> String {
        String(try await run("/usr/bin/sha256sum", [path]).prefix(64))
    }

    /// Runs `program`, returns what it printed, and throws when it fails.
    private static func run(_ program: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else { throw ProgramFailed(program: program, arguments: arguments, status: status) }
        return printed
    }

    struct ProgramFailed: Error, CustomStringConvertible {
        var program: String
        var arguments: [String]
        var status: Int32
        var description: String { "\(program) \(arguments.joined(separator: " ")) exited with \(status)" }
    }

    /// The unpack closure the cache is given: a plain `tar -xf`.
    static let unpack: @Sendable (String, ArchiveFormat, String) async throws -> Void = { archive, _, folder in
        try await tar(["-xf", archive, "-C", folder])
    }

    /// Lends a fresh temporary folder, removed afterwards.
    static func withTemporaryDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// Names of the items of a folder, sorted; empty when it is missing.
    static func list(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func bytes(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static let logger = Logger(label: "resource-cache-tests", factory: { _ in SwiftLogNoOpLogHandler() })
}
