import Foundation

/// One failed S3 call: what kind of failure, and where.
///
/// The message names the endpoint, the bucket and the key, and the server's error code; it never
/// holds a credential (the signer puts the secret nowhere the client reports).
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as far as the caller has to decide anything on it.
    public enum Kind: Sendable, Equatable {
        /// The server refused the credentials or the signature (`SignatureDoesNotMatch`,
        /// `InvalidAccessKeyId`, `AccessDenied`, an expired token...).
        case authentication
        /// The bucket does not exist.
        case noSuchBucket
        /// The object does not exist.
        case noSuchKey
        /// The multipart upload does not exist (aborted, completed, or forgotten by the server).
        case noSuchUpload
        /// The server asks to slow down (503 `SlowDown`, 429).
        case slowDown
        /// A 5xx answer.
        case server
        /// Another 4xx answer: the request itself is wrong and resending it does not help.
        case rejected
        /// A 2xx answer the client cannot read (or a 200 carrying an error document).
        case malformed
        /// No answer within the request's deadline.
        case timeout
        /// The connection failed (refused, reset, DNS).
        case transport
    }

    /// The kind of failure.
    public var kind: Kind
    /// The operation (`PutObject`, `UploadPart`...).
    public var operation: String
    /// The service origin.
    public var endpoint: String
    /// The bucket.
    public var bucket: String
    /// The object key, when the call had one.
    public var key: String?
    /// The HTTP status, when an answer came.
    public var status: Int?
    /// The server's error code (`NoSuchKey`), when it sent one.
    public var code: String?
    /// The server's message, or what the client saw.
    public var message: String
    /// The server's request id, for support.
    public var requestID: String?

    /// True when sending the same request again may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .slowDown, .server, .timeout, .transport: return true
        case .authentication, .noSuchBucket, .noSuchKey, .noSuchUpload, .rejected, .malformed: return false
        }
    }

    public var description: String {
        var text = "S3 \(operation) on \(endpoint), bucket \(bucket)"
        if let key { text += ", key \(key)" }
        text += ": "
        switch kind {
        case .authentication: text += "authentication failed (check s3.access_key_id, s3.secret_access_key and s3.session_token): "
        case .noSuchBucket: text += "no such bucket: "
        case .timeout: text += "no answer in time: "
        case .transport: text += "cannot connect: "
        default: break
        }
        var details: [String] = []
        if let status { details.append("HTTP \(status)") }
        if let code { details.append(code) }
        if !details.isEmpty { text += details.joined(separator: " ") + (message.isEmpty ? "" : " ") }
        text += message
        if let requestID { text += " (request \(requestID))" }
        return text
    }

    /// The kind an error answer means.
    static func kind(status: Int, code: String?) -> Kind {
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "ExpiredToken", "InvalidToken",
            "TokenRefreshRequired", "AuthorizationHeaderMalformed", "InvalidClientTokenId", "MissingSecurityHeader":
            return .authentication
        case "NoSuchBucket": return .noSuchBucket
        case "NoSuchKey": return .noSuchKey
        case "NoSuchUpload": return .noSuchUpload
        case "SlowDown", "RequestLimitExceeded", "Throttling", "ThrottlingException": return .slowDown
        case "InternalError", "ServiceUnavailable", "RequestTimeout": return .server
        default: break
        }
        switch status {
        case 401, 403: return .authentication
        case 429: return .slowDown
        case 500...599: return .server
        default: return .rejected
        }
    }
}
