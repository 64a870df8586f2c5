/// The few Python string and number behaviours the `vastai` query parser relies on, reproduced
/// so that our parser accepts exactly what it accepts and produces the same values.
enum PythonText {
    /// Python's `str.isspace()` for one code point: `str.strip()` and `float()` trim these.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `text.strip()`: trims Python whitespace from both ends.
    static func strip(_ text: String) -> String {
        strip(text) { isSpace($0) }
    }

    /// `text.strip(chars)`: trims any of `chars` from both ends.
    static func strip(_ text: String, chars: String) -> String {
        let set = Set(chars.unicodeScalars)
        return strip(text) { set.contains($0) }
    }

    private static func strip(_ text: String, where trims: (Unicode.Scalar) -> Bool) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !trims($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !trims($0) })!
        return String(scalars[first...last])
    }

    /// `float(text)` for the ASCII forms; nil where Python raises. `inf`/`nan` parse (as Python's do).
    static func float(_ text: String) -> Double? {
        let trimmed = strip(text)
        var bytes = Array(trimmed.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var index = 0
        if bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-") { index = 1 }
        let word = String(decoding: bytes[index...], as: UTF8.self).lowercased()
        if word == "inf" || word == "infinity" { return bytes[0] == UInt8(ascii: "-") ? -.infinity : .infinity }
        if word == "nan" { return .nan }
        // Python allows `_` between digits; Swift does not, so drop them once they are checked.
        guard isDecimalLiteral(bytes[index...]) else { return nil }
        bytes.removeAll { $0 == UInt8(ascii: "_") }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    /// `int(text)` for ASCII digits, as a Double (the value only travels as JSON); nil where Python raises.
    static func int(_ text: String) -> Double? {
        var bytes = Array(strip(text).utf8)
        var index = 0
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index = 1 }
        guard index < bytes.count, isDigitRun(bytes[index...]) else { return nil }
        bytes.removeAll { $0 == UInt8(ascii: "_") }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    /// `text.zfill(width)`: left-pads with zeros after any sign, never truncates.
    static func zfill(_ text: String, _ width: Int) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count < width else { return text }
        let padding = String(repeating: "0", count: width - scalars.count)
        if let sign = scalars.first, sign == "+" || sign == "-" {
            return String(sign) + padding + String(String.UnicodeScalarView(scalars.dropFirst()))
        }
        return padding + text
    }

    /// The CLI's `numeric_version`: `535.86.05` → 535086005, each part zero-padded to three digits;
    /// nil (Python's `None`) unless there are exactly three parts forming an integer.
    static func numericVersion(_ text: String) -> Double? {
        let parts = text.unicodeScalars.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        return int(parts.map { zfill(String(String.UnicodeScalarView($0)), 3) }.joined())
    }

    /// Digits with single `_` between them, as Python's `int()` accepts.
    private static func isDigitRun(_ bytes: ArraySlice<UInt8>) -> Bool {
        var previousWasDigit = false
        for byte in bytes {
            if isDigit(byte) {
                previousWasDigit = true
            } else if byte == UInt8(ascii: "_") && previousWasDigit {
                previousWasDigit = false
            } else {
                return false
            }
        }
        return previousWasDigit
    }

    /// `digits[.digits][e[+-]digits]` or `.digits[…]`, digit runs as in `isDigitRun`.
    private static func isDecimalLiteral(_ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        let exponentAt = rest.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        if let exponentAt {
            var exponent = rest[(exponentAt + 1)...]
            if let sign = exponent.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponent = exponent.dropFirst()
            }
            guard isDigitRun(exponent) else { return false }
            rest = rest[..<exponentAt]
        }
        let pointAt = rest.firstIndex(of: UInt8(ascii: "."))
        let whole = pointAt.map { rest[..<$0] } ?? rest
        let fraction = pointAt.map { rest[($0 + 1)...] } ?? []
        if whole.isEmpty && fraction.isEmpty { return false }
        return (whole.isEmpty || isDigitRun(whole)) && (fraction.isEmpty || isDigitRun(fraction))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
