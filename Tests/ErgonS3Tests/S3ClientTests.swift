import AsyncHTTPClient
import ErgonS3
import ErgonTestSupport
import Foundation
import NIOHTTP1
import Testing

/// A client on the shared moto server, with the test credentials (or a wrong secret).
func withS3Client<Result>(
    endpoint: String? = nil, secret: String? = nil, retry: S3RetryPolicy = S3RetryPolicy(attempts: 2, initialDelay: .milliseconds(20)),
    _ body: (S3Client) async throws -> Result
) async throws -> Result {
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
    let client = S3Client(
        endpoint: S3Endpoint(url: endpoint ?? S3TestServer.endpoint!, region: S3TestServer.region!)!,
        credentials: S3Credentials(accessKeyID: S3TestServer.accessKeyID!, secretAccessKey: secret ?? S3TestServer.secretAccessKey!),
        httpClient: http, retry: retry)
    do {
        let result = try await body(client)
        try await http.shutdown()
        return result
    } catch {
        try? await http.shutdown()
        throw error
    }
}

/// A file of `size` seeded bytes in a temporary directory.
func temporaryFile(size: Int, seed: UInt64 = 7) throws -> (path: String, bytes: [UInt8]) {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: size)
    for index in bytes.indices {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
    }
    let path = NSTemporaryDirectory() + "ergon-s3-" + UUID().uuidString.lowercased()
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return (path, bytes)
}

/// Runs curl and returns its HTTP status (the body goes to `output` when given).
func curlStatus(_ arguments: [String], output: String? = nil) throws -> Int {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl", "-s", "-o", output ?? "/dev/null", "-w", "%{http_code}"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return Int(text) ?? -1
}

@Suite("S3 client against a signature-checking server", .s3Server)
struct S3ClientTests {
    @Test("put, get (ranges), head, paginated list and delete, with keys that need encoding")
    func objects() async throws {
        let bucket = try S3TestServer.makeBucket()
        try await withS3Client { client in
            // moto 5.2.1 checks signatures against a decoded path, so keys with `+`, `=`, `%`, `:`
            // or `(` fail there for every client (boto3 too); the signer's encoding of those is
            // checked against botocore in SigV4BotocoreTests.
            let keys = ["a/b c.log", "a/deep/er/x.log", "a/tilde~under_score.log", "a/dash-dot.v1.log", "a/z.log"]
            for (index, key) in keys.enumerated() {
                try await client.putObject(bucket: bucket, key: key, body: .bytes(Array("object \(index)\n".utf8)))
            }
            // Read back independently with boto3: same keys, same bytes.
            #expect(try S3TestServer.readObject(bucket: bucket, key: keys[1]) == Array("object 1\n".utf8))
            #expect(try await client.getObject(bucket: bucket, key: keys[0]) == Array("object 0\n".utf8))
            #expect(try await client.getObject(bucket: bucket, key: keys[0], from: 2, limit: 4) == Array("ject".utf8))
            #expect(try await client.getObject(bucket: bucket, key: keys[0], from: 100) == [])
            #expect(try await client.getObject(bucket: bucket, key: "a/missing") == nil)
            let head = try await client.headObject(bucket: bucket, key: keys[2])
            #expect(head?.size == 9)
            #expect(try await client.headObject(bucket: bucket, key: "a/missing") == nil)
            let listed = try await client.listObjects(bucket: bucket, prefix: "a/", pageSize: 2)
            #expect(listed.map(\.key) == keys.sorted())
            try await client.deleteObject(bucket: bucket, key: keys[4])
            try await client.deleteObject(bucket: bucket, key: "a/never-there")
            #expect(try await client.listObjects(bucket: bucket, prefix: "").count == 4)
        }
    }

    @Test("multipart: parts streamed from a file, completed into one object; a bad part list is a typed error; abort")
    func multipart() async throws {
        let bucket = try S3TestServer.makeBucket()
        let file = try temporaryFile(size: (5 << 20) + 12345)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await withS3Client { client in
            let upload = try await client.createMultipartUpload(bucket: bucket, key: "big.log")
            #expect(upload.partChecksums)
            let first = try await client.uploadPart(
                bucket: bucket, key: "big.log", upload: upload, number: 1, body: .file(path: file.path, offset: 0, length: 5 << 20))
            let second = try await client.uploadPart(
                bucket: bucket, key: "big.log", upload: upload, number: 2, body: .file(path: file.path, offset: 5 << 20, length: 12345))
            try await client.completeMultipartUpload(bucket: bucket, key: "big.log", upload: upload, parts: [first, second])
            #expect(try S3TestServer.readObject(bucket: bucket, key: "big.log") == file.bytes)

            let other = try await client.createMultipartUpload(bucket: bucket, key: "bad.log")
            let part = try await client.uploadPart(
                bucket: bucket, key: "bad.log", upload: other, number: 1, body: .bytes(Array("tail".utf8)))
            var wrong = part
            wrong.etag = "0123456789abcdef0123456789abcdef"
            let error = try await #require(throws: S3Error.self) {
                try await client.completeMultipartUpload(bucket: bucket, key: "bad.log", upload: other, parts: [wrong])
            }
            #expect(error.code == "InvalidPart", "\(error)")
            #expect(error.kind == .rejected)
            try await client.abortMultipartUpload(bucket: bucket, key: "bad.log", uploadID: other.id)
            // S3 answers 404 NoSuchUpload here; moto 5.2.1 answers 500 (a KeyError): either way, refused.
            await #expect(throws: S3Error.self) {
                _ = try await client.uploadPart(bucket: bucket, key: "bad.log", upload: other, number: 2, body: .bytes([1]))
            }
        }
    }

    @Test("multipart parts carry their SHA-256 as a checksum; the server's composite checksum of the bytes it got agrees")
    func multipartChecksums() async throws {
        let bucket = try S3TestServer.makeBucket()
        let file = try temporaryFile(size: (10 << 20) + 777, seed: 11)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let ranges: [Range<Int>] = [0..<(5 << 20), (5 << 20)..<(10 << 20), (10 << 20)..<file.bytes.count]
        try await withS3Client { client in
            let upload = try await client.createMultipartUpload(bucket: bucket, key: "sums.log")
            var parts: [S3UploadedPart] = []
            for (index, range) in ranges.enumerated() {
                parts.append(
                    try await client.uploadPart(
                        bucket: bucket, key: "sums.log", upload: upload, number: index + 1,
                        body: .file(path: file.path, offset: Int64(range.lowerBound), length: Int64(range.count))))
            }
            // Each part's checksum is the base64 SHA-256 of its bytes.
            for (part, range) in zip(parts, ranges) {
                var hasher = SigV4Signer.PayloadHasher()
                hasher.update(file.bytes[range])
                #expect(part.checksumSHA256 == hasher.finalize().base64, "part \(part.number)")
            }
            try await client.completeMultipartUpload(bucket: bucket, key: "sums.log", upload: upload, parts: parts)
            #expect(try S3TestServer.readObject(bucket: bucket, key: "sums.log") == file.bytes)
            // The server hashed what it received, part by part: its composite is the SHA-256 of
            // the parts' digests, which matches the checksums the parts were sent with.
            var composite = SigV4Signer.PayloadHasher()
            for part in parts {
                let checksum = try #require(part.checksumSHA256)
                composite.update(try #require(Data(base64Encoded: checksum)))
            }
            let stored = try #require(try S3TestServer.objectChecksumSHA256(bucket: bucket, key: "sums.log"))
            // AWS reports `<base64>-3` of type COMPOSITE; moto 5.2.1 the bare digest and no type.
            #expect([composite.finalize().base64, "\(composite.finalize().base64)-3"].contains(stored.value), "\(stored)")
            #expect(stored.type == nil || stored.type == "COMPOSITE", "\(stored)")

            // s3.part_checksums: false: an upload without them, completed without them.
            let plainClient = client.with(partChecksums: false)
            let plain = try await plainClient.createMultipartUpload(bucket: bucket, key: "plain.log")
            #expect(!plain.partChecksums)
            let part = try await plainClient.uploadPart(
                bucket: bucket, key: "plain.log", upload: plain, number: 1, body: .bytes(Array("plain".utf8)))
            #expect(part.checksumSHA256 == nil)
            try await plainClient.completeMultipartUpload(bucket: bucket, key: "plain.log", upload: plain, parts: [part])
            #expect(try S3TestServer.readObject(bucket: bucket, key: "plain.log") == Array("plain".utf8))
            // A checksummed upload whose part lost its checksum is refused here, with the reason.
            let missing = try await #require(throws: S3Error.self) {
                try await client.completeMultipartUpload(
                    bucket: bucket, key: "sums.log", upload: upload, parts: [S3UploadedPart(number: 1, etag: "e", size: 1)])
            }
            #expect("\(missing)".contains("part 1 has no SHA-256 checksum"), "\(missing)")

        }
    }

    @Test("a wrong secret is refused by the server and reported as authentication, naming endpoint and bucket, never the secret")
    func wrongSecret() async throws {
        let bucket = try S3TestServer.makeBucket()
        let secret = "wrong-Secret-0123456789abcdefWRONG"
        try await withS3Client(secret: secret) { client in
            let error = try await #require(throws: S3Error.self) {
                try await client.putObject(bucket: bucket, key: "x.log", body: .bytes([1, 2, 3]))
            }
            #expect(error.kind == .authentication)
            #expect(error.code == "SignatureDoesNotMatch")
            let text = "\(error)"
            #expect(text.contains(S3TestServer.endpoint!) && text.contains(bucket), "\(text)")
            #expect(!text.contains(secret), "\(text)")
        }
    }

    @Test("pre-signed GET and PUT URLs are the ones botocore makes for the same instant, and carry their expiry")
    func presigned() async throws {
        // The same URLs are used with curl in PresignedURLTests; here they must be botocore's, bit for bit.
        let bucket = try S3TestServer.makeBucket()
        try await withS3Client { client in
            let date = Date(timeIntervalSince1970: 1_764_500_000)
            for (method, name) in [(HTTPMethod.GET, "get_object"), (.PUT, "put_object")] {
                let url = try client.presignedURL(method: method, bucket: bucket, key: "shared/report 1.log", expires: .seconds(900), date: date)
                let script = """
                    import sys, datetime
                    from unittest import mock
                    import boto3, botocore.auth
                    from botocore.config import Config
                    endpoint, region, key_id, secret, bucket, operation = sys.argv[1:7]
                    client = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
                    fixed = datetime.datetime(2025, 11, 30, 10, 53, 20)
                    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
                        print(client.generate_presigned_url(operation, Params={"Bucket": bucket, "Key": "shared/report 1.log"}, ExpiresIn=900))
                    """
                let result = try S3TestServer.runPython(
                    script,
                    arguments: [S3TestServer.endpoint!, S3TestServer.region!, S3TestServer.accessKeyID!, S3TestServer.secretAccessKey!, bucket, name])
                #expect(result.status == 0, "\(result.stderr)")
                let reference = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let signature = { (text: String) in
                    URLComponents(string: text)?.queryItems?.first { $0.name == "X-Amz-Signature" }?.value
                }
                #expect(signature(url.absoluteString) != nil)
                #expect(signature(url.absoluteString) == signature(reference), "ours: \(url)\nbotocore: \(reference)")
                #expect(url.absoluteString.contains("X-Amz-Expires=900"))
            }
            #expect(throws: S3Error.self) {
                _ = try client.presignedURL(method: .GET, bucket: bucket, key: "k", expires: .seconds(8 * 86400))
            }
        }
    }

    @Test("connection errors are retried with backoff: a server back within the retries is used, one that stays away is a transport error")
    func retriesConnectionErrors() async throws {
        let bucket = try S3TestServer.makeBucket()
        let target = URLComponents(string: S3TestServer.endpoint!)!
        let proxy = try await PausableTCPProxy.start(targetHost: target.host!, targetPort: target.port!)
        defer { Task { try? await proxy.shutdown() } }
        let retry = S3RetryPolicy(attempts: 6, initialDelay: .milliseconds(200), maxDelay: .seconds(1))
        try await withS3Client(endpoint: "http://127.0.0.1:\(proxy.port)", retry: retry) { client in
            proxy.pause()
            async let put: Void = { try await client.putObject(bucket: bucket, key: "late.log", body: .bytes([42])) }()
            try await Task.sleep(for: .milliseconds(700))
            try proxy.resume()
            try await put
            #expect(try S3TestServer.readObject(bucket: bucket, key: "late.log") == [42])

            proxy.pause()
            let error = try await #require(throws: S3Error.self) {
                try await client.with(retry: S3RetryPolicy(attempts: 2, initialDelay: .milliseconds(10)))
                    .putObject(bucket: bucket, key: "never.log", body: .bytes([1]))
            }
            #expect(error.kind == .transport, "\(error)")
            #expect("\(error)".contains("cannot connect"))
        }
    }
}
