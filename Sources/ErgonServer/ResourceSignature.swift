import Crypto
import ErgonCore
import Foundation

/// The agent's download URL for one of a task's resources, as `RetrieveModelVersion` and
/// `ListTaskResources` hand it out: bound to the task, the attempt, the resource's position and
/// an expiry, signed with HMAC-SHA256 so the download needs no token (the worker's plain
/// `requests.get` of `s3_url` sends none).
struct ResourceSignature: Sendable, Equatable {
    var taskID: UUID
    var attempt: Int
    var index: Int
    /// Unix seconds after which the URL is refused.
    var expires: Int64

    /// Method, task, attempt, index and expiry, one per line: distinct from an upload's text,
    /// which starts with `PUT`.
    var message: Data {
        Data("GET resource\n\(taskID.uuidString.lowercased())\n\(attempt)\n\(index)\n\(expires)".utf8)
    }

    func signature(key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: key).map { String(format: "%02x", $0) }.joined()
    }

    func isSigned(by hex: String, key: SymmetricKey) -> Bool {
        guard let code = UploadSignature.bytes(fromHex: hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: message, using: key)
    }

    /// `/api/v1/resource/<task>/<index>?attempt=N&expires=UNIX&signature=HEX`, to append to an origin.
    func path(key: SymmetricKey) -> String {
        "/api/v1/resource/\(taskID.uuidString.lowercased())/\(index)?attempt=\(attempt)&expires=\(expires)&signature=\(signature(key: key))"
    }
}
