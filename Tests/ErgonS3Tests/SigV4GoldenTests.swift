import Foundation
import Testing

@testable import ErgonS3

/// The worked examples of the AWS S3 documentation, "Signature Calculations for the Authorization
/// Header: Transferring Payload in a Single Chunk" and "Authenticating Requests: Using Query
/// Parameters", checked step by step: canonical request, string to sign, signature.
@Suite("SigV4 against the AWS documentation's examples")
struct SigV4GoldenTests {
    static let signer = SigV4Signer(
        credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    /// 2013-05-24T00:00:00Z.
    static let date = Date(timeIntervalSince1970: 1_369_353_600)
    static let host = ("host", "examplebucket.s3.amazonaws.com")
    static let scope = "20130524/us-east-1/s3/aws4_request"

    /// Signs `request` and checks every documented step, returning the added headers.
    @discardableResult
    static func checkHeaderSigning(
        _ request: SigV4Request, payloadHash: String, canonicalRequest: String, canonicalRequestHash: String,
        signedHeaders: String, signature: String
    ) -> [String: String] {
        let added = signer.signedHeaders(for: request, payloadHash: payloadHash, date: date)
        let byName = Dictionary(added.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(added.map(\.name) == ["x-amz-date", "x-amz-content-sha256", "authorization"])
        #expect(byName["x-amz-date"] == "20130524T000000Z")
        #expect(byName["x-amz-content-sha256"] == payloadHash)

        var signed = request
        signed.headers += added.filter { $0.name != "authorization" }
        let canonical = signer.canonicalRequest(for: signed, payloadHash: payloadHash)
        #expect(canonical == canonicalRequest)
        #expect(SigV4Signer.sha256Hex(canonical.utf8) == canonicalRequestHash)
        let stringToSign = signer.stringToSign(canonicalRequest: canonical, date: date)
        #expect(stringToSign == "AWS4-HMAC-SHA256\n20130524T000000Z\n\(scope)\n\(canonicalRequestHash)")
        #expect(signer.signature(stringToSign: stringToSign, date: date) == signature)
        #expect(
            byName["authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)")
        return byName
    }

    @Test("GET Object with a Range header")
    func getObject() {
        let request = SigV4Request(method: "GET", path: "/test.txt", headers: [Self.host, ("Range", "bytes=0-9")])
        Self.checkHeaderSigning(
            request, payloadHash: SigV4Signer.emptyPayloadHash,
            canonicalRequest: """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            canonicalRequestHash: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
            signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(request.encodedTarget == "/test.txt")
    }

    @Test("PUT Object: a key with $ and a signed payload")
    func putObject() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let payloadHash = SigV4Signer.sha256Hex(body)
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = SigV4Request(
            method: "PUT", path: "/test$file.text",
            headers: [Self.host, ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")])
        Self.checkHeaderSigning(
            request, payloadHash: payloadHash,
            canonicalRequest: """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """,
            canonicalRequestHash: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
            signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(request.encodedTarget == "/test%24file.text")
    }

    @Test("GET Bucket Lifecycle: a query name without a value")
    func getBucketLifecycle() {
        let request = SigV4Request(method: "GET", path: "/", query: [("lifecycle", "")], headers: [Self.host])
        Self.checkHeaderSigning(
            request, payloadHash: SigV4Signer.emptyPayloadHash,
            canonicalRequest: """
                GET
                /
                lifecycle=
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            canonicalRequestHash: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        #expect(request.encodedTarget == "/?lifecycle=")
    }

    @Test("Get Bucket (List Objects): the query sorted by name")
    func listObjects() {
        // Given out of order on purpose: the canonical query sorts them.
        let request = SigV4Request(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [Self.host])
        Self.checkHeaderSigning(
            request, payloadHash: SigV4Signer.emptyPayloadHash,
            canonicalRequest: """
                GET
                /
                max-keys=2&prefix=J
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            canonicalRequestHash: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        #expect(request.encodedTarget == "/?max-keys=2&prefix=J")
    }

    @Test("Query pre-signing: GET Object valid for 86400 s")
    func presignedGetObject() {
        let request = SigV4Request(method: "GET", path: "/test.txt", headers: [Self.host])
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        var signedQuery = request
        signedQuery.query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/\(Self.scope)"),
            ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host"),
        ]
        let canonical = Self.signer.canonicalRequest(for: signedQuery, payloadHash: SigV4Signer.unsignedPayload)
        #expect(canonical == "GET\n/test.txt\n\(query)\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD")
        #expect(
            Self.signer.stringToSign(canonicalRequest: canonical, date: Self.date)
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n\(Self.scope)\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")

        #expect(
            Self.signer.presignedTarget(for: request, expires: 86_400, date: Self.date)
                == "/test.txt?\(query)&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test("The signing key is the documented HMAC chain")
    func signingKey() {
        // kDate, kRegion, kService and kSigning spelled out with the HMAC primitive.
        var key = Array("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".utf8)
        for part in ["20130524", "us-east-1", "s3", "aws4_request"] {
            key = SigV4Signer.hmac(key: key, part)
        }
        #expect(Self.signer.signingKey(date: Self.date) == key)
        #expect(Self.signer.signingKey(date: Self.date.addingTimeInterval(86_399.9)) == key)
        #expect(Self.signer.signingKey(date: Self.date.addingTimeInterval(86_400)) != key)
    }
}

/// Temporary credentials: the session token is signed in the header, and carried (and signed)
/// in the query of a pre-signed URL. The expected signatures were computed with botocore 1.43's
/// `S3SigV4Auth` and `S3SigV4QueryAuth` on the same inputs (AWS's documented example token).
@Suite("SigV4 with a session token")
struct SigV4SessionTokenTests {
    static let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUu"
        + "wthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9"
        + "q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
    static let signer = SigV4Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: token),
        region: "us-east-1")

    @Test("x-amz-security-token is added and signed")
    func headerSigning() {
        let request = SigV4Request(method: "GET", path: "/test.txt", headers: [SigV4GoldenTests.host, ("Range", "bytes=0-9")])
        let added = Self.signer.signedHeaders(for: request, payloadHash: SigV4Signer.emptyPayloadHash, date: SigV4GoldenTests.date)
        #expect(added.map(\.name) == ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"])
        #expect(added.first { $0.name == "x-amz-security-token" }?.value == Self.token)
        #expect(
            added.last?.value
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\(SigV4GoldenTests.scope), "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
                + "Signature=83550a58e2be44fa0ba3b8668126104d584132f713849584acd2aa6cf6431fca")
    }

    @Test("X-Amz-Security-Token is in the pre-signed query, before the signature")
    func presigning() {
        let request = SigV4Request(method: "GET", path: "/test.txt", headers: [SigV4GoldenTests.host])
        let target = Self.signer.presignedTarget(for: request, expires: 86_400, date: SigV4GoldenTests.date)
        let encodedToken = Self.token.replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "+", with: "%2B")
            .replacingOccurrences(of: "=", with: "%3D")
        #expect(
            target
                == "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-Security-Token=\(encodedToken)&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=888f6935ee956d644d5b57b03f961f04f25a777c8870a52d69045f2c49c7e716")
    }

    @Test("Printing credentials hides the secret and the token")
    func description() {
        let credentials = Self.signer.credentials
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains("wJalrXUtnFEMI"))
            #expect(!text.contains("AQoDYXdz"))
            #expect(!text.contains("AKIAIOSFODNN7EXAMPLE"))
            #expect(text.contains("access key AKIA…"))
        }
        #expect(
            S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret").description
                == "access key AKIA… (secret hidden)")
    }
}
