/// The one percent-encoding SigV4 uses for S3, for the path and the query alike.
///
/// Every UTF-8 byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` in
/// upper-case hex. The path keeps its `/` separators; query names and values encode them too.
/// S3 does not normalise paths, so neither does this: `a//b` and `./` are signed as written.
enum SigV4URIEncoding {
    /// `text` encoded for the path (`keepSlash: true`) or for a query name or value.
    static func encode(_ text: String, keepSlash: Bool) -> String {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// The request path as sent and signed: `/bucket/a%20b`, and `/` for an empty path.
    static func path(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : "/" + path
        return encode(absolute, keepSlash: true)
    }

    /// The canonical query string: each pair encoded, sorted by encoded name then encoded value,
    /// written `name=value` (an empty value gives `name=`) and joined with `&`; empty for no items.
    static func query(_ items: [(name: String, value: String)]) -> String {
        items
            .map { (name: encode($0.name, keepSlash: false), value: encode($0.value, keepSlash: false)) }
            .sorted { lhs, rhs in
                lhs.name == rhs.name ? precedesInBytes(lhs.value, rhs.value) : precedesInBytes(lhs.name, rhs.name)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    /// Byte order, which SigV4 sorts by (Swift's `<` on strings follows Unicode rules instead).
    static func precedesInBytes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}
