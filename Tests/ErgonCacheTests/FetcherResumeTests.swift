import AsyncHTTPClient
import ErgonCore
import Foundation
import Logging
import Testing

@testable import ErgonCache

/// The pure parts of the fetchers: what an answer means for a partial file, and the routing.
@Suite("Fetcher: resume decisions and routing")
struct FetcherResumeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var status: Int
        var length: Int64?
        var range: String?
        var offset: Int64
        var expected: ResumeDecision
        var testDescription: String { "\(status) \(range ?? "-") from \(offset)" }
    }

    @Test(arguments: [
        // A whole answer starts over, whatever was asked.
        Case(status: 200, length: 100, range: nil, offset: 0, expected: .write(offset: 0, total: 100)),
        Case(status: 200, length: 100, range: nil, offset: 40, expected: .write(offset: 0, total: 100)),
        Case(status: 200, length: nil, range: nil, offset: 0, expected: .write(offset: 0, total: nil)),
        // A range from where the file ends continues it.
        Case(status: 206, length: 60, range: "bytes 40-99/100", offset: 40, expected: .write(offset: 40, total: 100)),
        Case(status: 206, length: 60, range: "bytes 40-99/*", offset: 40, expected: .write(offset: 40, total: 100)),
        // A range from elsewhere, or unreadable, cannot.
        Case(status: 206, length: 60, range: "bytes 0-59/100", offset: 40, expected: .startOver),
        Case(status: 206, length: 60, range: nil, offset: 40, expected: .startOver),
        Case(status: 206, length: 60, range: "bytes 0-59/100", offset: 0, expected: .write(offset: 0, total: 100)),
        Case(status: 206, length: 60, range: "bytes 10-59/100", offset: 0, expected: .refused),
        // Past the end: complete when the total is the file's size.
        Case(status: 416, length: 0, range: "bytes */100", offset: 100, expected: .complete(total: 100)),
        Case(status: 416, length: 0, range: "bytes */90", offset: 100, expected: .startOver),
        Case(status: 416, length: 0, range: nil, offset: 100, expected: .startOver),
        Case(status: 416, length: 0, range: "bytes */100", offset: 0, expected: .refused),
        Case(status: 404, length: 0, range: nil, offset: 40, expected: .refused),
    ])
    func decisions(_ example: Case) {
        let decision = ResumeDecision(
            status: example.status, contentLength: example.length, contentRange: example.range, requestedOffset: example.offset)
        #expect(decision == example.expected)
    }

    @Test func contentRanges() {
        #expect(ContentRange("bytes 0-9/10") == ContentRange(first: 0, last: 9, total: 10))
        #expect(ContentRange("bytes */10") == ContentRange(first: nil, last: nil, total: 10))
        for bad in ["bytes */*", "bytes 9-0/10", "items 0-9/10", "bytes 0-9", "bytes a-b/10"] {
            #expect(ContentRange(bad) == nil, "\(bad)")
        }
    }

    @Test func s3Locations() {
        #expect(S3ResourceFetcher.Location("s3://bucket/models/a.bin") == .init(bucket: "bucket", key: "models/a.bin"))
        #expect(S3ResourceFetcher.Location("s3://bucket/models/") == .init(bucket: "bucket", key: "models/"))
        #expect(S3ResourceFetcher.Location("s3://bucket") == .init(bucket: "bucket", key: ""))
        #expect(S3ResourceFetcher.Location("s3:///key") == nil)
        #expect(S3ResourceFetcher.Location("https://bucket/key") == nil)
    }

    @Test func urlsInMessagesLoseTheirQuery() {
        #expect(ResourceSource.redacted("https://user:pw@cdn.example/a.bin?X-Amz-Signature=abc#f") == "https://cdn.example/a.bin?…")
        #expect(ResourceSource.redacted("http://127.0.0.1:8/a.bin") == "http://127.0.0.1:8/a.bin")
    }

    @Test("without s3 settings an S3 resource is .unavailable and says what is missing")
    func s3WithoutSettings() async throws {
        try await FetcherFixture.withClient { client in
            let fetchers = ResourceFetchers(
                http: HTTPResourceFetcher(httpClient: client, environment: [:], logger: Logger(label: "test")), s3: nil)
            let error = try await #require(throws: ResourceError.self) {
                try await fetchers.fetch(ResourceSource(kind: .s3, url: "s3://bucket/key"), to: "/nonexistent/x", announceSize: { _ in })
            }
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("needs the agent's s3 settings"), "\(error)")
        }
    }

    @Test("malformed URLs are .unavailable")
    func malformed() async throws {
        try await FetcherFixture.withClient { client in
            try await FetcherFixture.withFolder { folder in
                let fetcher = HTTPResourceFetcher(httpClient: client, environment: [:], logger: Logger(label: "test"))
                for source in [
                    ResourceSource(kind: .http, url: "ftp://example.org/x"), ResourceSource(kind: .hf, url: "hf://org/repo"),
                    ResourceSource(kind: .s3, url: "s3://bucket/key"),
                ] {
                    let error = try await #require(throws: ResourceError.self) {
                        try await fetcher.fetch(source, to: folder + "/x", announceSize: { _ in })
                    }
                    #expect(error.kind == .unavailable, "\(source)")
                }
            }
        }
    }
}
