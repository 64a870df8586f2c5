import Crypto
import ErgonCore
import Foundation

/// The agent's own upload URLs, for artifact stores that cannot pre-sign a `PUT`: what a
/// worker may upload (task, name, exact size) and until when, signed with HMAC-SHA256 so the
/// upload needs no token (the worker's plain `requests.put` sends none).
struct UploadSignature: SignedGrant, Equatable {
    var taskID: UUID
    /// The attempt the URL was made for: it is refused once that attempt ended.
    var attempt: Int
    var name: ArtifactName
    var size: Int64
    /// Unix seconds after which the URL is refused.
    var expires: Int64

    /// The bytes signed: method, task, attempt, name, size and expiry, one per line (a name
    /// cannot hold a line break, so no two grants sign the same text).
    var message: Data {
        Data("PUT\n\(taskID.uuidString.lowercased())\n\(attempt)\n\(name.value)\n\(size)\n\(expires)".utf8)
    }

    /// `/api/v1/upload/<task>/<name>?attempt=N&size=N&expires=UNIX&signature=HEX`, to append to an origin.
    func path(key: SymmetricKey) -> String {
        "/api/v1/upload/\(taskID.uuidString.lowercased())/\(Self.encodeSegment(name.value))"
            + "?attempt=\(attempt)&size=\(size)&expires=\(expires)&signature=\(signature(key: key))"
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, so any artifact name
    /// survives as one path segment.
    static func encodeSegment(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
