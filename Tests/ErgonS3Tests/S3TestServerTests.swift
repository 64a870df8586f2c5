import ErgonTestSupport
import Foundation
import Testing

/// The S3 test harness itself: signatures are really checked, the proxy cuts S3 off and brings it
/// back, and a private server stops for real.
@Suite("S3TestServer", .s3Server)
struct S3TestServerTests {
    @Test("an unsigned or wrongly signed PUT is refused, a signed one is stored")
    func signaturesAreChecked() throws {
        let connection = try #require(S3TestServer.connection)
        let bucket = try S3TestServer.makeBucket()
        let url = "\(connection.endpoint)/\(bucket)/"

        // No Authorization header at all: moto 5.2.1 refuses it with 500 (a KeyError), not 403.
        let unsigned = try Curl.run(Curl.put("unsigned") + [url + "unsigned.txt"])
        #expect(unsigned.exitCode == 0)
        #expect(!(200..<300).contains(unsigned.status), "an unsigned PUT was accepted")

        var wrong = connection
        wrong.secretAccessKey += "x"
        let refused = try Curl.run(Curl.signing(wrong) + Curl.put("wrong") + [url + "wrong.txt"])
        #expect(refused.status == 403)
        #expect(refused.body.contains("SignatureDoesNotMatch"))

        // The same request with the right secret goes through, so the 403 is the secret's doing.
        let signed = try Curl.run(Curl.signing(connection) + Curl.put("signed") + [url + "signed.txt"])
        #expect(signed.status == 200)

        #expect(try S3TestServer.readObject(bucket: bucket, key: "signed.txt") == Array("signed".utf8))
        #expect(try S3TestServer.readObject(bucket: bucket, key: "unsigned.txt") == nil)
        #expect(try S3TestServer.readObject(bucket: bucket, key: "wrong.txt") == nil)
        #expect(try S3TestServer.listKeys(bucket: bucket) == ["signed.txt"])
        // A prefix with "/" in it: moto refuses such signed listings under werkzeug 2.3 and later.
        #expect(try S3TestServer.listKeys(bucket: bucket, prefix: "nothing/").isEmpty)
    }

    @Test("boto3 with a wrong secret is refused with 403 SignatureDoesNotMatch")
    func wrongSecretIsRefused() throws {
        var wrong = try #require(S3TestServer.connection)
        wrong.secretAccessKey = String(wrong.secretAccessKey.reversed())
        let error = #expect(throws: S3TestServer.Failure.self) {
            try S3TestServer.makeBucket(in: wrong)
        }
        #expect(error?.description.contains("SignatureDoesNotMatch") == true, "\(String(describing: error))")
    }

    @Test("the proxy forwards signed requests, refuses connections while paused, and resumes on the same port")
    func proxyPausesAndResumes() async throws {
        let connection = try #require(S3TestServer.connection)
        let target = try #require(URLComponents(string: connection.endpoint))
        let proxy = try await PausableTCPProxy.start(targetHost: try #require(target.host), targetPort: target.port ?? 80)
        do {
            let bucket = try S3TestServer.makeBucket()
            let bytes = Array("through the proxy".utf8)
            try S3TestServer.putObject(bucket: bucket, key: "k", bytes: bytes)
            var proxied = connection
            proxied.endpoint = "http://127.0.0.1:\(proxy.port)"
            let port = proxy.port
            #expect(try S3TestServer.readObject(bucket: bucket, key: "k", in: proxied) == bytes)

            // A connection that is open when S3 goes away is reset.
            let open = try LoopbackSocket(port: port)
            try open.send("GET /moto-api/ HTTP/1.1\r\n")
            try await waitUntil { proxy.openConnections == 1 }
            proxy.pause()
            #expect(open.receiveError() == ECONNRESET)

            let paused = try Curl.run(["--max-time", "5", "http://127.0.0.1:\(port)/moto-api/"])
            #expect(paused.exitCode == 7, "curl should find the port closed (exit 7), got \(paused.exitCode)")
            #expect(throws: S3TestServer.Failure.self) {
                try S3TestServer.readObject(bucket: bucket, key: "k", in: proxied)
            }

            proxy.resume()
            #expect(proxy.port == port)
            #expect(try S3TestServer.readObject(bucket: bucket, key: "k", in: proxied) == bytes)
            #expect(try S3TestServer.listKeys(bucket: bucket, in: proxied) == ["k"])
        } catch {
            try await proxy.shutdown()
            throw error
        }
        try await proxy.shutdown()
    }

    @Test("the proxy carries a 64 MiB multipart upload and download intact")
    func proxyCarriesLargeTransfers() async throws {
        let connection = try #require(S3TestServer.connection)
        let target = try #require(URLComponents(string: connection.endpoint))
        let proxy = try await PausableTCPProxy.start(targetHost: try #require(target.host), targetPort: target.port ?? 80)
        do {
            let bucket = try S3TestServer.makeBucket()
            // boto3 uploads in 8 MiB parts on several connections at once; the check reads back directly.
            let script = #"""
                import hashlib, io, os, sys, boto3
                from botocore.config import Config
                def client(endpoint):
                    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["ERGON_S3_REGION"],
                        aws_access_key_id=os.environ["ERGON_S3_ACCESS_KEY_ID"],
                        aws_secret_access_key=os.environ["ERGON_S3_SECRET_ACCESS_KEY"],
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
                bucket, proxied, direct = sys.argv[1], client(sys.argv[2]), client(os.environ["ERGON_S3_ENDPOINT"])
                data = os.urandom(64 << 20)
                proxied.upload_fileobj(io.BytesIO(data), bucket, "big")
                stored = direct.get_object(Bucket=bucket, Key="big")["Body"].read()
                assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest(), "upload corrupted"
                fetched = proxied.get_object(Bucket=bucket, Key="big")["Body"].read()
                assert hashlib.sha256(fetched).digest() == hashlib.sha256(data).digest(), "download corrupted"
                print(len(stored))
                """#
            let result = try S3TestServer.runPython(script, arguments: [bucket, "http://127.0.0.1:\(proxy.port)"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(String(decoding: result.stdout, as: UTF8.self) == "\(64 << 20)\n")
        } catch {
            try await proxy.shutdown()
            throw error
        }
        try await proxy.shutdown()
    }

    @Test("a private server checks signatures and is gone once stopped")
    func privateServerStops() async throws {
        try await S3TestServer.withPrivateServer { server in
            #expect(server.connection != S3TestServer.connection)
            let bucket = try S3TestServer.makeBucket(in: server.connection)
            try S3TestServer.putObject(bucket: bucket, key: "dir/k", bytes: [1, 2, 3], in: server.connection)
            #expect(try S3TestServer.readObject(bucket: bucket, key: "dir/k", in: server.connection) == [1, 2, 3])
            #expect(try S3TestServer.listKeys(bucket: bucket, prefix: "dir/", in: server.connection) == ["dir/k"])
            var wrong = server.connection
            wrong.secretAccessKey += "x"
            #expect(throws: S3TestServer.Failure.self) {
                try S3TestServer.readObject(bucket: bucket, key: "dir/k", in: wrong)
            }

            server.stop()
            let gone = try Curl.run(["--max-time", "5", "\(server.endpoint)/moto-api/"])
            #expect(gone.exitCode == 7)
        }
    }
}

/// Polls `condition` every 10 ms for up to 5 s.
private func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 5 s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// curl, which signs SigV4 itself (`--aws-sigv4`): a client independent of both ours and boto3.
private enum Curl {
    struct Result {
        var exitCode: Int32
        var status: Int
        var body: String
    }

    /// Arguments that sign the request with `connection`'s key (curl 7.75 or later).
    static func signing(_ connection: S3TestServer.Connection) -> [String] {
        [
            "--aws-sigv4", "aws:amz:\(connection.region):s3",
            "--user", "\(connection.accessKeyID):\(connection.secretAccessKey)",
            // curl signs no payload hash of its own, and S3 wants this header in the signature.
            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
        ]
    }

    /// A PUT of `body`. The content type matters: moto's Flask reads a form-encoded body (curl's
    /// default) as form fields and stores an empty object.
    static func put(_ body: String) -> [String] {
        ["-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", body]
    }

    static func run(_ arguments: [String]) throws -> Result {
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: body) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-o", body.path, "-w", "%{http_code}"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let status = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = (try? String(contentsOf: body, encoding: .utf8)) ?? ""
        return Result(
            exitCode: process.terminationStatus, status: Int(String(decoding: status, as: UTF8.self)) ?? 0, body: text)
    }
}

/// A plain blocking TCP client socket to 127.0.0.1, to hold a connection open across a pause.
private final class LoopbackSocket {
    private let descriptor: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
        }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard sent == bytes.count else { throw POSIXError(.EIO) }
    }

    /// The errno of a read that failed, 0 for an orderly end of stream, -1 when data arrived.
    func receiveError() -> Int32 {
        var byte: UInt8 = 0
        let count = read(descriptor, &byte, 1)
        if count < 0 { return errno }
        return count == 0 ? 0 : -1
    }
}
