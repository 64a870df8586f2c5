import Foundation
import Testing

@testable import ErgonS3

/// The canonicalisation rules one at a time: URI encoding, the query, headers, timestamps, hashing.
@Suite("SigV4 canonical forms")
struct SigV4EncodingTests {
    @Test(
        "Paths keep / and encode every byte outside A-Za-z0-9-._~",
        arguments: [
            ("/bucket/a b/c.log", "/bucket/a%20b/c.log"),
            ("/b/k+=~!*'()$&,;:@?#[]%", "/b/k%2B%3D~%21%2A%27%28%29%24%26%2C%3B%3A%40%3F%23%5B%5D%25"),
            ("/b//nested/./../x/", "/b//nested/./../x/"),
            ("/b/é日🚀", "/b/%C3%A9%E6%97%A5%F0%9F%9A%80"),
            ("/b/e\u{301}", "/b/e%CC%81"),
            ("", "/"),
            ("bucket/key", "/bucket/key"),
        ])
    func path(decoded: String, encoded: String) {
        #expect(SigV4Request(method: "GET", path: decoded, headers: []).encodedTarget == encoded)
    }

    @Test("The query is encoded (/ too), sorted by encoded name then value, empty values kept")
    func query() {
        let request = SigV4Request(
            method: "GET", path: "/bucket",
            query: [("prefix", "x/y"), ("list-type", "2"), ("a", "z"), ("a", "b b"), ("acl", ""), ("A", "1"), ("é", "~")],
            headers: [])
        // Sorted on the encoded bytes: `%` comes before letters.
        #expect(request.canonicalQuery == "%C3%A9=~&A=1&a=b%20b&a=z&acl=&list-type=2&prefix=x%2Fy")
        #expect(request.encodedTarget == "/bucket?\(request.canonicalQuery)")
        let listing = SigV4Request(method: "GET", path: "/bucket/a b", query: [("list-type", "2"), ("prefix", "x/y")], headers: [])
        #expect(listing.encodedTarget == "/bucket/a%20b?list-type=2&prefix=x%2Fy")
    }

    @Test("An empty query is an empty line of the canonical request")
    func emptyQuery() {
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AK", secretAccessKey: "SK"), region: "auto")
        let request = SigV4Request(method: "get", path: "/b/k", headers: [("host", "localhost:9000")])
        #expect(signer.canonicalRequest(for: request, payloadHash: "UNSIGNED-PAYLOAD") == "GET\n/b/k\n\nhost:localhost:9000\n\nhost\nUNSIGNED-PAYLOAD")
    }

    @Test("Header names are lowered and sorted, values trimmed and collapsed, repeats joined with ,")
    func headers() {
        let headers = SigV4CanonicalHeaders([
            ("Host", "example.com"), ("X-Amz-Meta-B", "  two   inner\t\tspaces  "), ("x-amz-meta-a", "first"),
            ("X-AMZ-META-A", " second "), ("x-amz-meta-empty", "   "), ("Content-Type", "text/plain"),
        ])
        #expect(headers.signedHeaders == "content-type;host;x-amz-meta-a;x-amz-meta-b;x-amz-meta-empty")
        #expect(
            headers.canonicalText
                == "content-type:text/plain\nhost:example.com\nx-amz-meta-a:first,second\nx-amz-meta-b:two inner spaces\nx-amz-meta-empty:\n")
    }

    @Test("Timestamps agree with Foundation's ISO 8601 formatting in UTC, fractions dropped")
    func timestamps() {
        var generator = SigV4SeededGenerator(seed: 0x7157_A3D0)
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 951_782_400), Date(timeIntervalSince1970: 4_107_542_399.999)]
        for _ in 0..<2_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator)))
        }
        for date in dates {
            // `2013-05-24T00:00:00Z` in UTC, punctuation removed.
            let truncated = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
            let expected = String(truncated.formatted(.iso8601).filter { !"-:".contains($0) })
            #expect(SigV4Timestamp(date).dateTime == expected, "\(date.timeIntervalSince1970)")
        }
        #expect(SigV4Timestamp(Date(timeIntervalSince1970: 951_782_400)).dateTime == "20000229T000000Z")
        #expect(SigV4Timestamp(Date(timeIntervalSince1970: -1)).dateTime == "19691231T235959Z")
        #expect(SigV4Timestamp(Date(timeIntervalSince1970: 1_369_353_600)).day == "20130524")
    }

    @Test("SHA-256 of known inputs, whole and in chunks")
    func hashing() {
        #expect(SigV4Signer.sha256Hex([UInt8]()) == SigV4Signer.emptyPayloadHash)
        #expect(SigV4Signer.sha256Hex("abc".utf8) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var abc = SigV4Signer.PayloadHasher()
        abc.update("abc".utf8)
        // The checksum spelling of the same digest (x-amz-checksum-sha256).
        #expect(abc.finalize().base64 == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        #expect(SigV4Signer.sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // A non-contiguous collection takes the copying path.
        #expect(SigV4Signer.sha256Hex("abc".utf8.lazy.map { $0 }) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = SigV4Signer.PayloadHasher()
        var offset = 0
        for size in [1, 0, 63, 64, 65, 4_096, 30_000] {
            hasher.update(bytes[offset..<offset + size])
            offset += size
        }
        bytes[offset...].withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalizeHex() == SigV4Signer.sha256Hex(bytes))
        #expect(bytes.withUnsafeBytes { SigV4Signer.sha256Hex($0) } == SigV4Signer.sha256Hex(bytes))
    }
}

/// SplitMix64: a small seeded generator, so random inputs are the same on every run.
struct SigV4SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
