import AsyncHTTPClient
import ErgonCore
import ErgonS3
import ErgonTestSupport
import Foundation
import Logging
import Testing

@testable import ErgonCache

/// ``S3ResourceFetcher`` against the shared signature-checking moto_server (see `S3TestServer`).
@Suite("Fetcher: S3", .s3Server)
struct FetcherS3Tests {
    /// Lends a fetcher signing with the test server's key (or `secret`), listing `pageSize` keys a page.
    func withFetcher(
        secret: String? = nil, pageSize: Int = 1000, _ body: (S3ResourceFetcher, _ folder: String) async throws -> Void
    ) async throws {
        let connection = try #require(S3TestServer.connection)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
        let client = S3Client(
            endpoint: try #require(S3Endpoint(url: connection.endpoint, region: connection.region)),
            credentials: S3Credentials(accessKeyID: connection.accessKeyID, secretAccessKey: secret ?? connection.secretAccessKey),
            httpClient: http, retry: S3RetryPolicy(attempts: 2, initialDelay: .milliseconds(20)))
        do {
            try await FetcherFixture.withFolder { folder in
                try await body(S3ResourceFetcher(client: client, logger: Logger(label: "test"), listPageSize: pageSize), folder)
            }
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    @Test("one object streams to its file, and a partial file is continued with a ranged GET")
    func oneObject() async throws {
        let bucket = try S3TestServer.makeBucket()
        let content = FetcherFixture.randomBytes((3 << 20) + 7)
        try S3TestServer.putObject(bucket: bucket, key: "models/weights.bin", bytes: content)
        let source = ResourceSource(kind: .s3, url: "s3://\(bucket)/models/weights.bin")
        try await withFetcher { fetcher, folder in
            let destination = folder + "/weights.bin"
            let announced = FetcherFixture.Announcements()
            var sent = fetcher.client.statistics.requestsSent
            let fetched = try await fetcher.fetch(source, to: destination, announceSize: announced.callback)
            #expect(fetched.bytes == Int64(content.count))
            #expect(announced.all == [Int64(content.count)])
            #expect(FetcherFixture.bytes(at: destination) == content)
            #expect(fetcher.client.statistics.requestsSent - sent == 1)

            // A partial file: HEAD for the size, then a GET of the rest. The kept start is marked
            // (zeros), so only a ranged GET leaves it in place.
            let kept = [UInt8](repeating: 0, count: 1 << 20)
            try Data(kept).write(to: URL(fileURLWithPath: destination))
            sent = fetcher.client.statistics.requestsSent
            let resumed = try await fetcher.fetch(source, to: destination, announceSize: announced.callback)
            #expect(resumed.bytes == Int64(content.count))
            #expect(FetcherFixture.bytes(at: destination) == kept + content[(1 << 20)...])
            #expect(fetcher.client.statistics.requestsSent - sent == 2)
            try Data(content).write(to: URL(fileURLWithPath: destination))

            // A complete file: the HEAD alone.
            sent = fetcher.client.statistics.requestsSent
            _ = try await fetcher.fetch(source, to: destination, announceSize: announced.callback)
            #expect(fetcher.client.statistics.requestsSent - sent == 1)
            #expect(FetcherFixture.bytes(at: destination) == content)
            #expect(announced.all == Array(repeating: Int64(content.count), count: 3))
        }
    }

    @Test("a prefix becomes a folder of its objects, sub-folders included, over several listing pages")
    func prefix() async throws {
        let bucket = try S3TestServer.makeBucket()
        let files: [String: [UInt8]] = [
            "a.bin": FetcherFixture.randomBytes(200_000), "b.txt": Array("hello\n".utf8),
            "sub/c.bin": FetcherFixture.randomBytes(1 << 20),
        ]
        for (relative, bytes) in files {
            try S3TestServer.putObject(bucket: bucket, key: "set/v1/" + relative, bytes: bytes)
        }
        try S3TestServer.putObject(bucket: bucket, key: "set/v10/other.bin", bytes: [1, 2, 3])  // shares the text, not the folder
        try await withFetcher(pageSize: 2) { fetcher, folder in
            let destination = folder + "/set"
            // Left by an earlier try: a stray file goes, a partial one is continued.
            try FileManager.default.createDirectory(atPath: destination + "/sub", withIntermediateDirectories: true)
            try Data([9, 9]).write(to: URL(fileURLWithPath: destination + "/stale.bin"))
            try Data(files["sub/c.bin"]![..<1000]).write(to: URL(fileURLWithPath: destination + "/sub/c.bin"))
            let announced = FetcherFixture.Announcements()
            let fetched = try await fetcher.fetch(
                ResourceSource(kind: .s3, url: "s3://\(bucket)/set/v1/"), to: destination, announceSize: announced.callback)
            let total = Int64(files.values.map(\.count).reduce(0, +))
            #expect(fetched == FetchedContent(contentType: nil, bytes: total))
            #expect(announced.all == [total])
            let found = try FileManager.default.subpathsOfDirectory(atPath: destination).filter {
                var isFolder: ObjCBool = false
                return FileManager.default.fileExists(atPath: destination + "/" + $0, isDirectory: &isFolder) && !isFolder.boolValue
            }
            #expect(found.sorted() == files.keys.sorted())
            for (relative, bytes) in files {
                #expect(FetcherFixture.bytes(at: destination + "/" + relative) == bytes, "\(relative)")
            }
        }
    }

    @Test("a missing key, a missing bucket, an empty prefix and a wrong secret are .unavailable")
    func refusals() async throws {
        let bucket = try S3TestServer.makeBucket()
        try S3TestServer.putObject(bucket: bucket, key: "present.bin", bytes: [1, 2, 3])
        try await withFetcher { fetcher, folder in
            for url in ["s3://\(bucket)/absent.bin", "s3://\(bucket)-absent/x.bin", "s3://\(bucket)/empty/"] {
                let error = try await #require(throws: ResourceError.self) {
                    try await fetcher.fetch(ResourceSource(kind: .s3, url: url), to: folder + "/out", announceSize: { _ in })
                }
                #expect(error.kind == .unavailable, "\(url): \(error)")
                #expect(error.message.contains(url), "\(error)")
            }
            // Continuing a partial file of an object that is gone is refused as well.
            try Data([1]).write(to: URL(fileURLWithPath: folder + "/partial"))
            let error = try await #require(throws: ResourceError.self) {
                try await fetcher.fetch(
                    ResourceSource(kind: .s3, url: "s3://\(bucket)/absent.bin"), to: folder + "/partial", announceSize: { _ in })
            }
            #expect(error.kind == .unavailable)
        }
        try await withFetcher(secret: "not-the-secret") { fetcher, folder in
            let error = try await #require(throws: ResourceError.self) {
                try await fetcher.fetch(
                    ResourceSource(kind: .s3, url: "s3://\(bucket)/present.bin"), to: folder + "/out", announceSize: { _ in })
            }
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("SignatureDoesNotMatch") || error.message.contains("authentication"), "\(error)")
            #expect(!error.message.contains("not-the-secret"))
        }
    }
}
