import AsyncHTTPClient
import ErgonS3
import ErgonTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Pre-signed URLs used with plain curl. moto_server does not check query signatures (with
/// checks on it answers 500 to them, without it ignores them), so `presign-gate.py` checks
/// them with botocore, signature and expiry, in front of a moto of its own.
@Suite("pre-signed URLs with curl", .s3Server)
struct PresignedURLTests {
    /// The gate process and its port.
    final class Gate: Sendable {
        let process: Process
        let port: Int
        /// The gate stops when this closes.
        let input: Pipe

        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/presign-gate.py").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: S3TestServer.python)
            process.arguments = [script, S3TestServer.motoServer, "AKIAGATEEXAMPLE", "gate-secret-key", "us-east-1"]
            let output = Pipe()
            let input = Pipe()
            process.standardOutput = output
            process.standardInput = input
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "port ", with: "")) else {
                try? input.fileHandleForWriting.close()
                process.waitUntilExit()
                throw GateDidNotStart(output: line)
            }
            self.process = process
            self.port = port
            self.input = input
        }

        struct GateDidNotStart: Error, CustomStringConvertible {
            let output: String
            var description: String { "presign-gate.py did not start: \(output)" }
        }

        func stop() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }

        /// Starts a gate, makes a bucket named `bucketPrefix-<random>` through it, and runs
        /// `body` with the gate's endpoint, the bucket and an HTTP client, all shut down after.
        static func withBucket(
            _ bucketPrefix: String, _ body: (_ endpoint: String, _ bucket: String, _ http: HTTPClient) async throws -> Void
        ) async throws {
            let gate = try Gate()
            defer { gate.stop() }
            let endpoint = "http://127.0.0.1:\(gate.port)"
            let bucket = "\(bucketPrefix)-\(UUID().uuidString.prefix(8).lowercased())"
            #expect(try curlStatus(["-X", "PUT", "\(endpoint)/\(bucket)"]) == 200)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
            do {
                try await body(endpoint, bucket, http)
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    @Test("GET and PUT URLs work with curl until they expire; a changed path or another secret is refused")
    func curlUntilExpiry() async throws {
        try await Gate.withBucket("presign") { endpoint, bucket, http in
            try await exercise(endpoint: endpoint, bucket: bucket, http: http)
        }
    }

    private func exercise(endpoint: String, bucket: String, http: HTTPClient) async throws {
        let make = { (secret: String) in
            S3Client(
                endpoint: S3Endpoint(url: endpoint, region: "us-east-1")!,
                credentials: S3Credentials(accessKeyID: "AKIAGATEEXAMPLE", secretAccessKey: secret), httpClient: http,
                retry: .once)
        }
        let client = make("gate-secret-key")
        try await client.putObject(bucket: bucket, key: "shared/report 1.log", body: .bytes(Array("hello curl\n".utf8)))

        let get = try client.presignedURL(method: .GET, bucket: bucket, key: "shared/report 1.log", expires: .seconds(60))
        let out = NSTemporaryDirectory() + "ergon-curl-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(try curlStatus([get.absoluteString], output: out) == 200)
        #expect(FileManager.default.contents(atPath: out) == Data("hello curl\n".utf8))

        let put = try client.presignedURL(method: .PUT, bucket: bucket, key: "up/by curl.log", expires: .seconds(60))
        #expect(try curlStatus(["-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", "sent by curl", put.absoluteString]) == 200)
        #expect(try await client.getObject(bucket: bucket, key: "up/by curl.log") == Array("sent by curl".utf8))

        // Signed 10 s ago for 5 s: expired already.
        let stale = try client.presignedURL(
            method: .GET, bucket: bucket, key: "shared/report 1.log", expires: .seconds(5), date: Date().addingTimeInterval(-10))
        #expect(try curlStatus([stale.absoluteString]) == 403)
        // One that expires while we wait.
        let short = try client.presignedURL(method: .GET, bucket: bucket, key: "shared/report 1.log", expires: .seconds(2))
        #expect(try curlStatus([short.absoluteString]) == 200)
        try await Task.sleep(for: .seconds(3.5))
        #expect(try curlStatus([short.absoluteString]) == 403)
        // Another object under the same signature, or another secret: refused.
        let moved = get.absoluteString.replacingOccurrences(of: "report%201.log", with: "report%202.log")
        #expect(moved != get.absoluteString)
        #expect(try curlStatus([moved]) == 403)
        let forged = try make("not-the-secret").presignedURL(method: .GET, bucket: bucket, key: "shared/report 1.log", expires: .seconds(60))
        #expect(try curlStatus([forged.absoluteString]) == 403)
    }
}
