import Crypto
import ErgonCore
import Foundation

/// The agent's own upload URLs, for artifact stores that cannot pre-sign a `PUT`: what a
/// worker may upload (task, name, exact size) and until when, signed with HMAC-SHA256 so the
/// upload needs no token (the worker's plain `requests.put` sends none).
struct UploadSignature: Sendable, Equatable {
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

    /// The hex signature of this grant.
    func signature(key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// True when `hex` is this grant's signature (compared in constant time).
    func isSigned(by hex: String, key: SymmetricKey) -> Bool {
        guard let code = Self.bytes(fromHex: hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: message, using: key)
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

    static func bytes(fromHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
