import Crypto
import Foundation

/// A URL of the agent's own that carries its credential: what it allows (`message`), signed
/// with HMAC-SHA256 under the agent's key, so the request needs no token.
protocol SignedGrant: Sendable {
    /// The bytes signed; two different grants never sign the same text.
    var message: Data { get }
}

extension SignedGrant {
    /// The hex signature of this grant.
    func signature(key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// True when `hex` is this grant's signature (compared in constant time).
    func isSigned(by hex: String, key: SymmetricKey) -> Bool {
        guard let code = Self.bytes(fromHex: hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: message, using: key)
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
