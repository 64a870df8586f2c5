import Foundation

/// Signs S3 requests with AWS Signature Version 4, in an `Authorization` header or in the query
/// of a pre-signed URL.
///
/// The signer is a plain value: the time is passed to each call and nothing is cached, so one
/// signer can be shared by any number of tasks. Paths are signed as given, never normalised,
/// as S3 requires.
public struct SigV4Signer: Sendable {
    /// The payload hash that tells S3 the body is not covered by the signature.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// The algorithm named in the string to sign and in the `Authorization` header.
    static let algorithm = "AWS4-HMAC-SHA256"

    /// The credentials requests are signed with.
    public let credentials: S3Credentials
    /// The region in the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The service in the credential scope: `s3`.
    public let service: String

    /// A signer for `credentials` in `region`.
    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to `request` for header signing: `x-amz-date`, `x-amz-content-sha256`
    /// (= `payloadHash`, a hex SHA-256 or ``unsignedPayload``), `x-amz-security-token` when the
    /// credentials have a session token, and `authorization`.
    ///
    /// The added `x-amz-*` headers are signed along with the request's own, which must not
    /// already contain any of these four.
    public func signedHeaders(for request: SigV4Request, payloadHash: String, date: Date) -> [(name: String, value: String)] {
        let timestamp = SigV4Timestamp(date)
        var added: [(name: String, value: String)] = [("x-amz-date", timestamp.dateTime), ("x-amz-content-sha256", payloadHash)]
        if let token = credentials.sessionToken {
            added.append(("x-amz-security-token", token))
        }
        var signed = request
        signed.headers += added
        let headers = SigV4CanonicalHeaders(signed.headers)
        let canonical = canonicalRequest(for: signed, headers: headers, payloadHash: payloadHash)
        let signature = signature(stringToSign: stringToSign(canonicalRequest: canonical, date: date), date: date)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(timestamp)), "
            + "SignedHeaders=\(headers.signedHeaders), Signature=\(signature)"
        return added + [("authorization", authorization)]
    }

    /// The request target of a pre-signed URL, `/path?query…&X-Amz-Signature=…`, to append to
    /// `scheme://host`; valid for `expires` seconds (S3 allows 1 to 604800) from `date`.
    ///
    /// The query carries the request's own items plus `X-Amz-Algorithm`, `X-Amz-Credential`,
    /// `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders` (`host` and any other header of the
    /// request, which the user of the URL must then send as signed) and `X-Amz-Security-Token`
    /// when there is a session token. The payload is ``unsignedPayload``.
    public func presignedTarget(for request: SigV4Request, expires: Int, date: Date) -> String {
        let timestamp = SigV4Timestamp(date)
        let headers = SigV4CanonicalHeaders(request.headers)
        var presigned = request
        presigned.query += [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(credentialScope(timestamp))"),
            ("X-Amz-Date", timestamp.dateTime),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", headers.signedHeaders),
        ]
        if let token = credentials.sessionToken {
            presigned.query.append(("X-Amz-Security-Token", token))
        }
        let canonical = canonicalRequest(for: presigned, headers: headers, payloadHash: Self.unsignedPayload)
        let signature = signature(stringToSign: stringToSign(canonicalRequest: canonical, date: date), date: date)
        return presigned.encodedTarget + "&X-Amz-Signature=" + signature
    }

    /// The canonical request of `request` exactly as given (its headers are all signed):
    /// method, encoded path, canonical query, canonical headers, signed header names, payload hash.
    public func canonicalRequest(for request: SigV4Request, payloadHash: String) -> String {
        canonicalRequest(for: request, headers: SigV4CanonicalHeaders(request.headers), payloadHash: payloadHash)
    }

    /// The string to sign: algorithm, timestamp, credential scope and the canonical request's hex SHA-256.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        let timestamp = SigV4Timestamp(date)
        return [Self.algorithm, timestamp.dateTime, credentialScope(timestamp), Self.sha256Hex(canonicalRequest.utf8)]
            .joined(separator: "\n")
    }

    /// The signing key of `date`'s day: HMAC-SHA256 chained over day, region, service and
    /// `aws4_request`, starting from `"AWS4" + secret`.
    public func signingKey(date: Date) -> [UInt8] {
        let secret = Array(("AWS4" + credentials.secretAccessKey).utf8)
        return [SigV4Timestamp(date).day, region, service, "aws4_request"].reduce(secret) { key, part in
            Self.hmac(key: key, part)
        }
    }

    /// The hex signature of `stringToSign` with the signing key of `date`'s day.
    public func signature(stringToSign: String, date: Date) -> String {
        Self.hex(Self.hmac(key: signingKey(date: date), stringToSign))
    }

    /// `20130524/us-east-1/s3/aws4_request`.
    func credentialScope(_ timestamp: SigV4Timestamp) -> String {
        "\(timestamp.day)/\(region)/\(service)/aws4_request"
    }

    private func canonicalRequest(for request: SigV4Request, headers: SigV4CanonicalHeaders, payloadHash: String) -> String {
        [
            request.method.uppercased(), request.canonicalPath, request.canonicalQuery,
            headers.canonicalText, headers.signedHeaders, payloadHash,
        ].joined(separator: "\n")
    }
}
