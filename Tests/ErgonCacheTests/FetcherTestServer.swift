import AsyncHTTPClient
import ErgonCache
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 for the fetcher tests, serving one random body in the ways a
/// download can go: with ranges, without, cut short, stalled, refused, redirected.
///
/// Routes (every one records the request in ``seen``):
/// - `/files/model.bin`, `/org/repo/resolve/v1/weights/model.bin`, `/cdn/model.bin`: the body,
///   with `Range: bytes=N-` support (206, or 416 `bytes */SIZE` past the end)
/// - `/norange/model.bin`: always the whole body with 200
/// - `/short/model.bin`: the first request announces the whole body, sends 1 MiB and closes the
///   connection; later ones behave as `/files`
/// - `/stall/model.bin`: sends 64 KiB, then nothing for 20 s
/// - `/big/model.bin`: ``bigSize`` bytes, generated as they are sent
/// - `/org/moved/resolve/main/model.bin`: 302 to `http://localhost:PORT/cdn/model.bin` (another host)
/// - `/org/same/resolve/main/model.bin`: 302 to `/cdn/model.bin` (the same origin)
/// - `/loop`: 302 to itself; `/status/CODE`: an empty answer with that status
final class FetcherTestServer: Sendable {
    /// What the server saw of one request.
    struct Seen: Sendable, Equatable {
        var path: String
        var range: String?
        var authorization: String?
    }

    /// The served body.
    let content: [UInt8]
    /// The type every content answer declares.
    static let contentType = "application/x-ergon-test"
    /// The size of `/big/model.bin`.
    static let bigSize = 512 << 20
    private let log = Mutex<[Seen]>([])
    private let shortCalls = Mutex(0)

    init(content: [UInt8]) {
        self.content = content
    }

    /// The requests seen so far, oldest first.
    var seen: [Seen] { log.withLock { $0 } }

    /// The requests seen for `path`.
    func seen(_ path: String) -> [Seen] { seen.filter { $0.path == path } }

    /// Runs the server, hands `body` its base URL (`http://127.0.0.1:PORT`), and stops it afterwards.
    func run<Result: Sendable>(_ body: @Sendable (String) async throws -> Result) async throws -> Result {
        let router = Router()
        router.get("**") { request, _ in try await self.respond(to: request) }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fetcher-test-server")
        logger.logLevel = .critical  // stopping by cancellation logs errors that mean nothing here
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw Failure("the server did not start") }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body("http://127.0.0.1:\(port)"))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            try? await group.waitForAll()
            return try outcome.get()
        }
    }

    private func respond(to request: Request) async throws -> Response {
        let path = request.uri.path
        let range = request.headers[.range]
        log.withLock { $0.append(Seen(path: path, range: range, authorization: request.headers[.authorization])) }
        switch path {
        case "/files/model.bin", "/org/repo/resolve/v1/weights/model.bin", "/cdn/model.bin":
            return ranged(range)
        case "/norange/model.bin":
            return whole(from: 0, status: .ok)
        case "/short/model.bin":
            let first = shortCalls.withLock { calls in
                calls += 1
                return calls == 1
            }
            guard first else { return ranged(range) }
            let content = self.content
            return Response(
                status: .ok, headers: [.contentType: Self.contentType],
                body: ResponseBody(contentLength: content.count) { writer in
                    try await writer.write(ByteBuffer(bytes: content[..<(1 << 20)]))
                    throw Failure("cut short on purpose")  // Hummingbird closes the connection
                })
        case "/stall/model.bin":
            let content = self.content
            return Response(
                status: .ok, headers: [.contentType: Self.contentType],
                body: ResponseBody(contentLength: content.count) { writer in
                    try await writer.write(ByteBuffer(bytes: content[..<(64 << 10)]))
                    try await Task.sleep(for: .seconds(20))
                    throw Failure("stalled on purpose")
                })
        case "/big/model.bin":
            return Response(
                status: .ok, headers: [.contentType: Self.contentType],
                body: ResponseBody(contentLength: Self.bigSize) { writer in
                    let chunk = ByteBuffer(repeating: 0x5a, count: 1 << 20)
                    for _ in 0..<(Self.bigSize >> 20) { try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
        case "/org/moved/resolve/main/model.bin":
            let port = request.head.authority?.split(separator: ":").last ?? ""
            return Response(status: .found, headers: [.location: "http://localhost:\(port)/cdn/model.bin"])
        case "/org/same/resolve/main/model.bin":
            return Response(status: .found, headers: [.location: "/cdn/model.bin"])
        case "/loop":
            return Response(status: .found, headers: [.location: "/loop"])
        default:
            if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
                return Response(status: .init(code: code))
            }
            return Response(status: .notFound)
        }
    }

    /// The body from `Range: bytes=N-` on, as a server with range support answers.
    private func ranged(_ range: String?) -> Response {
        guard let range, range.hasPrefix("bytes="), range.hasSuffix("-"),
            let start = Int(range.dropFirst("bytes=".count).dropLast())
        else { return whole(from: 0, status: .ok) }
        guard start < content.count else {
            return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(content.count)"])
        }
        return whole(from: start, status: .partialContent)
    }

    private func whole(from start: Int, status: HTTPResponse.Status) -> Response {
        let content = self.content
        var headers: HTTPFields = [.contentType: Self.contentType]
        if status == .partialContent { headers[.contentRange] = "bytes \(start)-\(content.count - 1)/\(content.count)" }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: content.count - start) { writer in
                var offset = start
                while offset < content.count {
                    let end = min(offset + (64 << 10), content.count)
                    try await writer.write(ByteBuffer(bytes: content[offset..<end]))
                    offset = end
                }
                try await writer.finish(nil)
            })
    }
}

extension FetcherTestServer {
    /// The server could not do its part.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Helpers of the fetcher tests, in a namespace of their own (the test target is shared).
enum FetcherFixture {
    /// `count` random bytes.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = generator.next() }
        }
        return bytes
    }

    /// A fresh temporary folder, removed after `body`.
    static func withFolder<Result>(_ body: (String) async throws -> Result) async throws -> Result {
        let folder = NSTemporaryDirectory() + "ergon-fetcher-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try await body(folder)
    }

    /// Lends an HTTP client made with the fetcher's configuration (and `readTimeout`), shut down after.
    static func withClient<Result>(readTimeout: TimeAmount? = nil, _ body: (HTTPClient) async throws -> Result) async throws -> Result {
        var configuration = HTTPResourceFetcher.httpConfiguration
        if let readTimeout { configuration.timeout.read = readTimeout }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The file's bytes, or nil when there is none.
    static func bytes(at path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }

    /// The process's resident set now, in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The largest resident set seen while a body ran (sampled every 20 ms).
    final class PeakResident: Sendable {
        private let peak = Mutex(0)
        var value: Int { peak.withLock { $0 } }

        func watching<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
            try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        self.sample()
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
                defer { group.cancelAll() }
                let result = try await body()
                sample()
                return result
            }
        }

        private func sample() {
            let now = FetcherFixture.residentBytes()
            peak.withLock { $0 = max($0, now) }
        }
    }

    /// Records what `announceSize` was called with.
    final class Announcements: Sendable {
        private let sizes = Mutex<[Int64?]>([])
        var all: [Int64?] { sizes.withLock { $0 } }
        var callback: @Sendable (Int64?) async throws -> Void {
            { size in self.sizes.withLock { $0.append(size) } }
        }
    }
}
