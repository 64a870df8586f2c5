import Crypto
import Foundation

extension SigV4Signer {
    /// The hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        var hasher = PayloadHasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// The hex SHA-256 of the bytes in `buffer`.
    public static func sha256Hex(_ buffer: UnsafeRawBufferPointer) -> String {
        var hasher = PayloadHasher()
        hasher.update(buffer)
        return hasher.finalizeHex()
    }

    /// An incremental SHA-256 for payloads too large to hold at once, such as a file hashed in
    /// chunks: `var h = SigV4Signer.PayloadHasher(); h.update(chunk); h.finalizeHex()`.
    public struct PayloadHasher: Sendable {
        private var hash = SHA256()

        /// A hasher that has seen no bytes yet.
        public init() {}

        /// Adds `bytes` to the hashed payload.
        public mutating func update(_ bytes: some Collection<UInt8>) {
            let hashedInPlace: Void? = bytes.withContiguousStorageIfAvailable { contiguous in
                hash.update(bufferPointer: UnsafeRawBufferPointer(contiguous))
            }
            if hashedInPlace == nil {
                hash.update(data: Array(bytes))
            }
        }

        /// Adds the bytes in `buffer` to the hashed payload.
        public mutating func update(_ buffer: UnsafeRawBufferPointer) {
            hash.update(bufferPointer: buffer)
        }

        /// The hex SHA-256 of everything added so far (the hasher itself is left as it was).
        public func finalizeHex() -> String {
            finalize().hex
        }

        /// The SHA-256 of everything added so far (the hasher itself is left as it was).
        public func finalize() -> PayloadDigest {
            PayloadDigest(bytes: Array(hash.finalize()))
        }
    }

    /// A payload's SHA-256, in the two spellings S3 reads: hex in `x-amz-content-sha256` (the
    /// signature's), base64 in `x-amz-checksum-sha256` (the checksum S3 keeps with a part).
    public struct PayloadDigest: Sendable, Equatable {
        /// The 32 bytes.
        public let bytes: [UInt8]

        /// Lower-case hex.
        public var hex: String { SigV4Signer.hex(bytes) }
        /// Standard base64, padded.
        public var base64: String { Data(bytes).base64EncodedString() }
    }

    /// HMAC-SHA256 of `message` under `key`.
    static func hmac(key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// Lower-case hex, two digits a byte.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
