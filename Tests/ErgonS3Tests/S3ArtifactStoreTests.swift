import AsyncHTTPClient
import ErgonCore
import ErgonS3
import ErgonTestSupport
import Foundation
import Testing

/// A fresh owner (workflow and task) for each test.
private func newOwner() -> ArtifactOwner { ArtifactOwner(workflowID: UUID(), taskID: UUID()) }

/// A path in the temporary directory that does not exist yet.
private func temporaryPath() -> String { NSTemporaryDirectory() + "ergon-artifact-" + UUID().uuidString.lowercased() }

private func bytes(at path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }

@Suite("S3 artifact store", .s3Server)
struct S3ArtifactStoreTests {
    @Test("store, list, artifact and fetch round trip byte for byte, one PUT and multipart (files over 8 MiB)")
    func roundTrip() async throws {
        let bucket = try S3TestServer.makeBucket()
        let owner = newOwner()
        let small = try temporaryFile(size: 1000, seed: 1)
        let single = try temporaryFile(size: (9 << 20) + 17, seed: 2)
        let parted = try temporaryFile(size: (12 << 20) + 5, seed: 3)
        let out = temporaryPath()
        defer { for path in [small.path, single.path, parted.path, out] { try? FileManager.default.removeItem(atPath: path) } }
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "runs")
            // Parts of 5 MiB: the 12 MiB file goes up in three, the 9 MiB one with a plain PUT.
            let partedStore = S3ArtifactStore(
                client: client, bucket: bucket, prefix: "runs", multipartThreshold: 10 << 20, partSize: 5 << 20)
            #expect(try await store.list(owner).isEmpty)
            let before = Date().addingTimeInterval(-2)
            let stored = try await store.store(owner, name: ArtifactName("metrics.json"), file: small.path, contentType: "application/json")
            #expect(stored.size == 1000)
            #expect(stored.contentType == "application/json")
            #expect(stored.created <= stored.updated)
            #expect(stored.updated >= before)
            try await store.store(owner, name: ArtifactName("weights.bin"), file: single.path, contentType: "application/x-hdf5")
            let sent = client.statistics.requestsSent
            try await partedStore.store(owner, name: ArtifactName("big model.safetensors"), file: parted.path, contentType: "application/octet-stream")
            // HEAD before, create, three parts, complete, HEAD after.
            #expect(client.statistics.requestsSent - sent == 7)

            let listed = try await store.list(owner)
            #expect(listed.map(\.name.value) == ["big model.safetensors", "metrics.json", "weights.bin"])
            #expect(listed.map(\.size) == [Int64(parted.bytes.count), 1000, Int64(single.bytes.count)])
            // The type each was stored with, not a guess from the name.
            #expect(listed.map(\.contentType) == ["application/octet-stream", "application/json", "application/x-hdf5"])
            #expect(try await store.artifact(owner, name: ArtifactName("weights.bin")) == listed[2])
            #expect(try await store.artifact(owner, name: ArtifactName("absent.txt")) == nil)

            // Read back independently with boto3, at the documented keys.
            #expect(
                try S3TestServer.listKeys(bucket: bucket).sorted() == [
                    "runs/\(owner.path)/artifacts/big model.safetensors", "runs/\(owner.path)/artifacts/metrics.json",
                    "runs/\(owner.path)/artifacts/weights.bin",
                ])
            #expect(try S3TestServer.readObject(bucket: bucket, key: "runs/\(owner.path)/artifacts/weights.bin") == single.bytes)

            for (name, file) in [("metrics.json", small), ("weights.bin", single), ("big model.safetensors", parted)] {
                try await store.fetch(owner, name: ArtifactName(name), to: out)
                #expect(bytes(at: out) == file.bytes, "fetched \(name)")
            }
            // Nothing left beside the destination.
            let directory = (out as NSString).deletingLastPathComponent
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasPrefix((out as NSString).lastPathComponent + ".ergon-partial") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("replacing an artifact keeps one object with the new bytes and type, and its creation time")
    func replace() async throws {
        let bucket = try S3TestServer.makeBucket()
        let owner = newOwner()
        let first = try temporaryFile(size: 3000, seed: 4)
        let second = try temporaryFile(size: 1200, seed: 5)
        let out = temporaryPath()
        defer { for path in [first.path, second.path, out] { try? FileManager.default.removeItem(atPath: path) } }
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "p")
            let name = try ArtifactName("result.csv")
            let original = try await store.store(owner, name: name, file: first.path, contentType: "text/csv")
            // Last-Modified counts whole seconds.
            try await Task.sleep(for: .seconds(1.1))
            let replaced = try await store.store(owner, name: name, file: second.path, contentType: "text/plain")
            #expect(replaced.size == 1200)
            #expect(replaced.contentType == "text/plain")
            #expect(replaced.created == original.created)
            #expect(replaced.updated > original.updated)
            #expect(try await store.list(owner) == [replaced])
            // The destination exists already: it is replaced.
            try Data("old".utf8).write(to: URL(fileURLWithPath: out))
            try await store.fetch(owner, name: name, to: out)
            #expect(bytes(at: out) == second.bytes)
        }
    }

    @Test("removeAll removes the task's artifacts only (not its logs, not another task's), and again is fine")
    func removeAll() async throws {
        let bucket = try S3TestServer.makeBucket()
        let owner = newOwner()
        let sibling = ArtifactOwner(workflowID: owner.workflowID, taskID: UUID())
        let file = try temporaryFile(size: 100, seed: 6)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "shared")
            // The log store's final log of the same task, in the same bucket and prefix.
            let logKey = "shared/\(owner.path)/1.log"
            try S3TestServer.putObject(bucket: bucket, key: logKey, bytes: Array("log\n".utf8))
            for text in ["a.txt", "b.txt", "c d.txt"] {
                try await store.store(owner, name: ArtifactName(text), file: file.path, contentType: "text/plain")
            }
            try await store.store(sibling, name: ArtifactName("a.txt"), file: file.path, contentType: "text/plain")
            // Uploads an agent stopped for good left unfinished, under each task's folder.
            _ = try await client.createMultipartUpload(bucket: bucket, key: store.folder(owner) + "big.bin")
            _ = try await client.createMultipartUpload(bucket: bucket, key: store.folder(sibling) + "big.bin")
            try await store.removeAll(owner)
            #expect(try await client.listMultipartUploads(bucket: bucket, prefix: store.folder(owner)) == [])
            #expect(try await client.listMultipartUploads(bucket: bucket, prefix: store.folder(sibling)).map(\.key)
                == [store.folder(sibling) + "big.bin"])
            #expect(try await store.list(owner).isEmpty)
            #expect(try await store.artifact(owner, name: ArtifactName("a.txt")) == nil)
            #expect(try await store.list(sibling).map(\.name.value) == ["a.txt"])
            #expect(try S3TestServer.readObject(bucket: bucket, key: logKey) == Array("log\n".utf8))
            try await store.removeAll(owner)
            try await store.removeAll(newOwner())
        }
    }

    @Test("an empty prefix and a nested one (slashes trimmed) give the documented keys", arguments: [
        ("", ""), ("a/b/c", "a/b/c/"), ("/nested/prefix/", "nested/prefix/"),
    ])
    func prefixes(prefix: String, keyStart: String) async throws {
        let bucket = try S3TestServer.makeBucket()
        let owner = newOwner()
        let file = try temporaryFile(size: 64, seed: 7)
        let out = temporaryPath()
        defer { for path in [file.path, out] { try? FileManager.default.removeItem(atPath: path) } }
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: prefix)
            #expect(store.location == (keyStart.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(keyStart.dropLast())"))
            try await store.store(owner, name: ArtifactName("out.txt"), file: file.path, contentType: "text/plain")
            #expect(try S3TestServer.listKeys(bucket: bucket) == ["\(keyStart)\(owner.path)/artifacts/out.txt"])
            #expect(try await store.list(owner).map(\.name.value) == ["out.txt"])
            try await store.fetch(owner, name: ArtifactName("out.txt"), to: out)
            #expect(bytes(at: out) == file.bytes)
        }
    }

    @Test("fetching a missing artifact is notFound and leaves no file")
    func fetchMissing() async throws {
        let bucket = try S3TestServer.makeBucket()
        let out = temporaryPath()
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "p")
            let error = await #expect(throws: ArtifactStoreError.self) {
                try await store.fetch(newOwner(), name: ArtifactName("nothing.bin"), to: out)
            }
            #expect(error?.kind == .notFound)
            #expect(error?.message.contains("nothing.bin") == true)
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("a missing bucket makes store, list, fetch and removeAll unavailable, naming the bucket")
    func missingBucket() async throws {
        let bucket = "ergon-missing-" + UUID().uuidString.prefix(8).lowercased()
        let owner = newOwner()
        let file = try temporaryFile(size: 10, seed: 8)
        let out = temporaryPath()
        defer { for path in [file.path, out] { try? FileManager.default.removeItem(atPath: path) } }
        try await withS3Client(retry: .once) { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "p")
            let name = try ArtifactName("x.txt")
            let calls: [(String, () async throws -> Void)] = [
                ("store", { try await store.store(owner, name: name, file: file.path, contentType: "text/plain") }),
                ("list", { _ = try await store.list(owner) }),
                ("fetch", { try await store.fetch(owner, name: name, to: out) }),
                ("removeAll", { try await store.removeAll(owner) }),
            ]
            for (label, call) in calls {
                let error = await #expect(throws: ArtifactStoreError.self, "\(label)") { try await call() }
                #expect(error?.kind == .unavailable, "\(label)")
                #expect(error?.message.contains(bucket) == true, "\(label): \(error?.message ?? "")")
                #expect(error?.message.contains(S3TestServer.secretAccessKey ?? "-") == false)
            }
        }
    }

    @Test("a link is refused, never followed")
    func linkRefused() async throws {
        let bucket = try S3TestServer.makeBucket()
        let target = try temporaryFile(size: 10, seed: 9)
        let link = temporaryPath()
        defer { for path in [target.path, link] { try? FileManager.default.removeItem(atPath: path) } }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.path)
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "p")
            let error = await #expect(throws: ArtifactStoreError.self) {
                try await store.store(newOwner(), name: ArtifactName("secret.txt"), file: link, contentType: "text/plain")
            }
            #expect(error?.message.contains("link") == true)
        }
        #expect(try S3TestServer.listKeys(bucket: bucket).isEmpty)
    }

    @Test("pre-signed URLs last the asked time, clamped to 1 s … 7 days")
    func presignedLifetime() async throws {
        try await withS3Client { client in
            let store = S3ArtifactStore(client: client, bucket: "any-bucket", prefix: "p")
            let owner = newOwner()
            let name = try ArtifactName("a.bin")
            func expires(_ url: URL?) -> String? {
                url.flatMap { URLComponents(url: $0, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == "X-Amz-Expires" }?.value }
            }
            #expect(expires(try await store.directDownloadURL(owner, name: name, validFor: .seconds(900))) == "900")
            #expect(expires(try await store.directUploadURL(owner, name: name, validFor: .seconds(90 * 86_400))) == "604800")
            #expect(expires(try await store.directUploadURL(owner, name: name, validFor: .milliseconds(10))) == "1")
            #expect(expires(try await store.directDownloadURL(owner, name: name, validFor: .seconds(-5))) == "1")
            let url = try #require(try await store.directUploadURL(owner, name: name, validFor: .seconds(60)))
            #expect(url.absoluteString.contains("X-Amz-SignedHeaders=host&"))
            #expect(url.path.hasSuffix("/p/\(owner.path)/artifacts/a.bin"))
        }
    }
}

/// Pre-signed URLs used by hosts without credentials: curl and python `requests`, behind
/// `presign-gate.py`, which checks query signatures with botocore in front of a moto of its own
/// (see ``PresignedURLTests``).
@Suite("S3 artifact store pre-signed URLs", .s3Server)
struct S3ArtifactStorePresignedTests {
    @Test("a plain PUT (curl, python requests) to the upload URL is listed and fetched; the download URL serves the bytes")
    func directTransfers() async throws {
        try await PresignedURLTests.Gate.withBucket("artifacts") { endpoint, bucket, http in
            try await exercise(endpoint: endpoint, bucket: bucket, http: http)
        }
    }

    private func exercise(endpoint: String, bucket: String, http: HTTPClient) async throws {
        let client = S3Client(
            endpoint: S3Endpoint(url: endpoint, region: "us-east-1")!,
            credentials: S3Credentials(accessKeyID: "AKIAGATEEXAMPLE", secretAccessKey: "gate-secret-key"), httpClient: http,
            retry: .once)
        let store = S3ArtifactStore(client: client, bucket: bucket, prefix: "exp")
        let owner = newOwner()
        let upload = try temporaryFile(size: (2 << 20) + 3, seed: 10)
        let second = try temporaryFile(size: 5000, seed: 11)
        let out = temporaryPath()
        defer { for path in [upload.path, second.path, out] { try? FileManager.default.removeItem(atPath: path) } }

        // curl, with a type of its own choosing: only `host` is signed.
        let weights = try ArtifactName("model weights.npy")
        let put = try #require(try await store.directUploadURL(owner, name: weights, validFor: .seconds(120)))
        #expect(
            try curlStatus(["-X", "PUT", "-H", "Content-Type: application/x-npy", "--data-binary", "@\(upload.path)", put.absoluteString])
                == 200)

        // python requests, exactly as a worker would.
        let report = try ArtifactName("report.html")
        let put2 = try #require(try await store.directUploadURL(owner, name: report, validFor: .seconds(120)))
        let script = #"""
            import sys, requests
            with open(sys.argv[2], "rb") as f:
                answer = requests.put(sys.argv[1], data=f, headers={"Content-Type": "text/html"})
            print(answer.status_code)
            """#
        let result = try S3TestServer.runPython(script, arguments: [put2.absoluteString, second.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "200")

        // Sizes come from the listing: the gate answers a HEAD with its own Content-Length (0),
        // so `artifact(_:name:)`'s size is not checked through it.
        let listed = try await store.list(owner)
        #expect(listed.map(\.name) == [weights, report])
        #expect(listed.map(\.size) == [Int64(upload.bytes.count), 5000])
        #expect(listed.map(\.contentType) == ["application/x-npy", "text/html"])
        // No ergon-created metadata on a direct upload: created when last written.
        #expect(listed.allSatisfy { $0.created == $0.updated })
        try await store.fetch(owner, name: weights, to: out)
        #expect(bytes(at: out) == upload.bytes)
        try await store.fetch(owner, name: report, to: out)
        #expect(bytes(at: out) == second.bytes)

        // The download URL, with curl.
        let get = try #require(try await store.directDownloadURL(owner, name: weights, validFor: .seconds(120)))
        try? FileManager.default.removeItem(atPath: out)
        #expect(try curlStatus([get.absoluteString], output: out) == 200)
        #expect(bytes(at: out) == upload.bytes)
        // One name's signature does not open another.
        let other = get.absoluteString.replacingOccurrences(of: "model%20weights.npy", with: "report.html")
        #expect(other != get.absoluteString)
        #expect(try curlStatus([other]) == 403)
    }
}
