import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How test suites reach the real Docker engine, and the trait that gates them on it.
///
/// The engine is the one on `ERGON_DOCKER_SOCKET` (default `/var/run/docker.sock`); tests need the
/// offline image ``image``. Without them the tests skip with a message saying how to start them,
/// unless `ERGON_REQUIRE_DOCKER=1`, where they fail instead.
public enum DockerTestEngine {
    /// The image tests run (built offline by `Scripts/lib/test-image.sh`).
    public static let image = "ergon-test/busybox:1"

    /// The engine's socket.
    public static var socketPath: String {
        ProcessInfo.processInfo.environment["ERGON_DOCKER_SOCKET"] ?? "/var/run/docker.sock"
    }

    /// True when `ERGON_REQUIRE_DOCKER=1`: a missing engine fails the tests instead of skipping them.
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["ERGON_REQUIRE_DOCKER"] == "1"
    }

    /// How to get what is missing.
    public static let setupHint =
        "start one with `source Scripts/lib/docker-engine.sh && ergon_docker_start`, build the image with "
        + "`source Scripts/lib/test-image.sh && ergon_test_image`"

    /// Why the engine cannot be used, or nil when it answers and has the test image.
    public static let unavailability: String? = probe()

    /// The engine is missing while `ERGON_REQUIRE_DOCKER=1`.
    public struct Unavailable: Error, CustomStringConvertible {
        /// What is missing and how to get it.
        public var description: String
    }

    /// Throws when the engine is unusable and required; true when it is usable, false to skip.
    public static func shouldRun() throws -> Bool {
        guard let reason = unavailability else { return true }
        if isRequired {
            throw Unavailable(description: "ERGON_REQUIRE_DOCKER=1 but \(reason); \(setupHint)")
        }
        return false
    }

    private static func probe() -> String? {
        guard let ping = get("/_ping", socketPath: socketPath) else {
            return "no Docker engine answers on \(socketPath)"
        }
        guard ping.status == 200 else {
            return "the Docker engine on \(socketPath) answers \(ping.status) to /_ping"
        }
        guard let inspect = get("/images/\(image)/json", socketPath: socketPath), inspect.status == 200 else {
            return "the Docker engine on \(socketPath) has no image \(image)"
        }
        return nil
    }

    /// A minimal HTTP/1.0 GET over the unix socket (the test support target has no HTTP client);
    /// nil when the socket cannot be reached.
    public static func get(_ path: String, socketPath: String) -> (status: Int, body: String)? {
        #if canImport(Glibc) || canImport(Musl)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        let written = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }.split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when the Docker engine answers and has the test image; with
    /// `ERGON_REQUIRE_DOCKER=1` a missing engine fails the test instead of skipping it.
    public static var dockerEngine: Self {
        .enabled(
            Comment(rawValue: "needs a Docker engine on $ERGON_DOCKER_SOCKET (default /var/run/docker.sock) with the image "
                + "\(DockerTestEngine.image): \(DockerTestEngine.setupHint); set ERGON_REQUIRE_DOCKER=1 to fail instead")
        ) {
            try DockerTestEngine.shouldRun()
        }
    }
}
