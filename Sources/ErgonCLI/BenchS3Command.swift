import ArgumentParser
import AsyncHTTPClient
import ErgonCore
import ErgonS3
import Foundation

/// `ergon bench-s3`: the programs `Scripts/bench s3` times against the AWS CLI. Hidden: it is
/// a measuring tool, not part of running tasks.
struct BenchS3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-s3",
        abstract: "Measure the S3 client: a multipart upload of a file, and the bytes a growing log costs.",
        discussion: """
            The service comes from ERGON_S3_ENDPOINT, ERGON_S3_REGION, ERGON_S3_ACCESS_KEY_ID, \
            ERGON_S3_SECRET_ACCESS_KEY and ERGON_S3_SESSION_TOKEN, else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, \
            AWS_REGION or AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; \
            without an endpoint, AWS itself. Scripts/bench s3 runs both subcommands against a local S3.
            """,
        shouldDisplay: false,
        subcommands: [Upload.self, Growth.self])

    /// `bench-s3 upload FILE`: one multipart upload with parts streamed from the file.
    ///
    /// Defaults: 8 MiB parts, as the AWS CLI's `multipart_chunksize`; 4 parts in flight where the
    /// CLI's `max_concurrent_requests` is 10. Against the local moto_server (one Python process)
    /// 4, 8 and 10 in flight and 8 or 16 MiB parts all measured alike, within the run-to-run noise:
    /// the server is the bottleneck, so fewer connections do as well.
    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload FILE as a multipart upload; print `seconds=<s> bytes=<n>`.")

        @Argument(help: "The file to upload.")
        var file: String
        @Option(name: .long, help: "The bucket (it must exist).")
        var bucket: String
        @Option(name: .long, help: "The object key.")
        var key: String
        @Option(name: .customLong("part-size"), help: "The part size in MiB (5 to 5120).")
        var partSize: Int = 8
        @Option(name: .long, help: "Parts sent at the same time.")
        var concurrency: Int = 4

        func validate() throws {
            guard (5...5120).contains(partSize) else { throw ValidationError("--part-size must be between 5 and 5120 MiB") }
            guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        }

        func run() async throws {
            let size = try BenchS3Command.fileSize(file)
            guard size > 0 else { throw UserError("\(file) is empty; a multipart upload needs at least one byte") }
            let partBytes = Int64(partSize) << 20
            let partCount = Int((size + partBytes - 1) / partBytes)
            guard partCount <= 10_000 else {
                throw UserError("\(file) needs \(partCount) parts of \(partSize) MiB; S3 allows 10000: raise --part-size")
            }
            let (file, bucket, key, concurrency) = (file, bucket, key, concurrency)
            let seconds = try await BenchS3Command.withClient(connections: concurrency) { client in
                let clock = ContinuousClock()
                let start = clock.now
                let upload = try await client.createMultipartUpload(bucket: bucket, key: key)
                do {
                    let parts = try await Self.sendParts(
                        client: client, file: file, bucket: bucket, key: key, upload: upload, size: size,
                        partBytes: partBytes, concurrency: concurrency)
                    try await client.completeMultipartUpload(bucket: bucket, key: key, upload: upload, parts: parts)
                } catch {
                    try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadID: upload.id)
                    throw EnvironmentError("upload of \(file) to s3://\(bucket)/\(key) failed: \(error)")
                }
                return (clock.now - start) / .seconds(1)
            }
            print("seconds=\(String(format: "%.3f", seconds)) bytes=\(size)")
        }

        /// Sends every part, `concurrency` at a time: a new one starts as soon as one ends.
        static func sendParts(
            client: S3Client, file: String, bucket: String, key: String, upload: S3MultipartUpload, size: Int64, partBytes: Int64,
            concurrency: Int
        ) async throws -> [S3UploadedPart] {
            let partCount = Int((size + partBytes - 1) / partBytes)
            return try await withThrowingTaskGroup(of: S3UploadedPart.self) { group in
                var next = 1
                var parts: [S3UploadedPart] = []
                func startNext() {
                    let number = next
                    let offset = Int64(number - 1) * partBytes
                    let body = S3Body.file(path: file, offset: offset, length: min(partBytes, size - offset))
                    group.addTask {
                        try await client.uploadPart(bucket: bucket, key: key, upload: upload, number: number, body: body)
                    }
                    next += 1
                }
                while next <= min(concurrency, partCount) { startNext() }
                while let part = try await group.next() {
                    parts.append(part)
                    if next <= partCount { startNext() }
                }
                return parts
            }
        }
    }

    /// `bench-s3 growth`: a log growing by equal appends, shipped after each through the S3 log
    /// store, against re-uploading the whole log at every flush.
    struct Growth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ship a growing log through the S3 log store; print the bytes sent per byte of log.")

        @Option(name: .long, help: "The bucket (it must exist).")
        var bucket: String
        @Option(name: .long, help: "The log's final size in MiB.")
        var size: Int = 64
        @Option(name: .long, help: "How many appends (each followed by a ship) make the log.")
        var flushes: Int = 256
        @Option(name: .customLong("part-size"), help: "The log store's part size in MiB (at least 5).")
        var partSize: Int = Int(S3LogStore.defaultPartSize >> 20)

        func validate() throws {
            guard (1...1024).contains(size) else { throw ValidationError("--size must be between 1 and 1024 MiB") }
            guard flushes >= 1 else { throw ValidationError("--flushes must be 1 or more") }
            guard (5...5120).contains(partSize) else { throw ValidationError("--part-size must be between 5 and 5120 MiB") }
        }

        func run() async throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("ergon-bench-s3-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("1.log").path
            guard FileManager.default.createFile(atPath: path, contents: nil), let spool = FileHandle(forWritingAtPath: path)
            else {
                throw EnvironmentError("cannot create \(path)")
            }
            defer { try? spool.close() }
            let total = Int64(size) << 20
            let key = LogKey(workflowID: UUID(), taskID: UUID(), attempt: 1)
            let (bucket, flushes, partBytes) = (bucket, flushes, Int64(partSize) << 20)
            try await BenchS3Command.withClient(connections: 1) { client in
                let store = S3LogStore(client: client, bucket: bucket, prefix: "bench-growth", partSize: partBytes)
                var generator = SplitMix64(seed: 0x5EED)
                var written: Int64 = 0
                var naive: Int64 = 0
                for flush in 1...flushes {
                    let end = total * Int64(flush) / Int64(flushes)
                    try spool.write(contentsOf: generator.bytes(Int(end - written)))
                    written = end
                    _ = try await store.ship(SpooledLog(key: key, path: path, length: written, isComplete: false))
                    naive += written
                }
                _ = try await store.ship(SpooledLog(key: key, path: path, length: written, isComplete: true))
                let sent = client.statistics.bodyBytesSent
                let objectKey = store.objectKey(key)
                try await Self.verify(client: client, bucket: bucket, key: objectKey, against: path, length: total)
                try await client.deleteObject(bucket: bucket, key: objectKey)
                let ratio = String(format: "%.3f", Double(sent) / Double(total))
                let naiveRatio = String(format: "%.3f", Double(naive) / Double(total))
                print("log=\(total) sent=\(sent) ratio=\(ratio) naive=\(naive) naive_ratio=\(naiveRatio)")
            }
        }

        /// Reads the object back in ranges and compares it with the file; throws on any difference.
        static func verify(client: S3Client, bucket: String, key: String, against path: String, length: Int64) async throws {
            guard let head = try await client.headObject(bucket: bucket, key: key) else {
                throw EnvironmentError("s3://\(bucket)/\(key) does not exist after the final ship")
            }
            guard head.size == length else {
                throw EnvironmentError("s3://\(bucket)/\(key) holds \(head.size) bytes, the log \(length)")
            }
            guard let file = FileHandle(forReadingAtPath: path) else { throw EnvironmentError("cannot read \(path)") }
            defer { try? file.close() }
            let chunk: Int64 = 32 << 20
            var offset: Int64 = 0
            while offset < length {
                let count = min(chunk, length - offset)
                let stored = try await client.getObject(bucket: bucket, key: key, from: offset, limit: count) ?? []
                let local = try file.read(upToCount: Int(count)) ?? Data()
                guard stored.elementsEqual(local) else {
                    throw EnvironmentError("s3://\(bucket)/\(key) differs from the log in the \(count) bytes from byte \(offset)")
                }
                offset += chunk
            }
        }
    }

    /// Lends a client on an HTTP client made from ``S3Client/httpConfiguration`` (with room for
    /// `connections` at once) and shuts it down afterwards.
    static func withClient<Result: Sendable>(
        connections: Int, _ body: (S3Client) async throws -> Result
    ) async throws -> Result {
        let (endpoint, credentials) = try serviceFromEnvironment()
        var configuration = S3Client.httpConfiguration
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit, connections)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result
        do {
            result = try await body(S3Client(endpoint: endpoint, credentials: credentials, httpClient: http))
        } catch let error as S3Error {
            try? await http.shutdown()
            throw EnvironmentError("\(error)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return result
    }

    /// The endpoint and credentials the ERGON_S3_* variables (or the AWS_* ones) name.
    static func serviceFromEnvironment() throws -> (S3Endpoint, S3Credentials) {
        let environment = ProcessInfo.processInfo.environment
        func first(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        let region = first("ERGON_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") ?? "us-east-1"
        // The key pair and its session token come from the same family, never one of each.
        let family = first("ERGON_S3_ACCESS_KEY_ID") != nil ? "ERGON_S3_" : "AWS_"
        guard let keyID = first(family + "ACCESS_KEY_ID"), let secret = first(family + "SECRET_ACCESS_KEY") else {
            throw UserError(
                "set ERGON_S3_ACCESS_KEY_ID and ERGON_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        }
        let endpoint: S3Endpoint
        if let url = first("ERGON_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") {
            guard let custom = S3Endpoint(url: url, region: region) else {
                throw UserError("the S3 endpoint \"\(url)\" is not an http(s) origin such as http://127.0.0.1:5100")
            }
            endpoint = custom
        } else {
            endpoint = .aws(region: region)
        }
        let token = first(family + "SESSION_TOKEN")
        return (endpoint, S3Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token))
    }

    static func fileSize(_ path: String) throws -> Int64 {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw UserError("\(path): no such file")
        }
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw UserError("cannot read \(path): \(error)")
        }
    }
}

/// A fast seeded generator for incompressible log bytes (SplitMix64).
private struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> Data {
        var data = Data(count: count)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            var index = 0
            while index < count {
                var word = next()
                for _ in 0..<min(8, count - index) {
                    raw[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
        }
        return data
    }
}
