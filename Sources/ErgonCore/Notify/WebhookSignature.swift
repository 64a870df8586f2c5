import Crypto
import Foundation

/// The signature of a webhook body: `sha256=<hex HMAC-SHA256 of the body under notify.secret>`
/// in the `X-Ergon-Signature` header, so a receiver can tell the agent sent it (as GitHub's
/// `X-Hub-Signature-256`).
public enum WebhookSignature {
    public static let header = "X-Ergon-Signature"

    /// The header's value for `body` signed with `secret`.
    public static func value(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}
