/// A filter or offer value reduced to what a comparison looks at. This is the one place that
/// decides how values coerce, for evaluating filters and for combining them:
///
/// - numbers stay numbers; booleans become 1/0, so `true`, `"True"`, `1` and `"1"` are all equal
///   (the server coerces, and the CLI sends numbers as strings such as `"1"`);
/// - strings that read as numbers (`"0.98"`, `"1e3"`) become numbers, except for string fields
///   (`gpu_name`, `ubuntu_version`, …), which compare exactly as written;
/// - `driver_version` strings with dots become the CLI's integer encoding (`535.86.05` → 535086005);
/// - `geolocation` compares two-letter country codes: filter codes are upper-cased, an offer's
///   `"City, CC"` contributes the part after its last comma;
/// - null stays null; lists and objects are not scalars.
enum OfferScalar: Hashable, Sendable {
    case number(Double)
    case string(String)
    case null

    /// The comparison target for a filter value on `field`; nil for a list or object.
    static func target(_ value: JSONValue, field: String) -> OfferScalar? {
        switch value {
        case .null: return .null
        case .bool(let flag): return .number(flag ? 1 : 0)
        case .number(let number): return .number(number)
        case .array, .object: return nil
        case .string(let text):
            switch OfferFields.kind(of: field) {
            case .string:
                return .string(field == "geolocation" ? text.uppercased() : text)
            case .version:
                return number(fromOffer: text, version: true).map(OfferScalar.number) ?? .string(text)
            case .number, .bool, nil:
                return number(fromOffer: text, version: false).map(OfferScalar.number) ?? .string(text)
            }
        }
    }

    /// The order of two targets: numbers by value, strings by code point; nil when they cannot be
    /// ordered (a number and a word, or a null).
    static func compare(_ lhs: OfferScalar, _ rhs: OfferScalar) -> Int? {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.string(let a), .string(let b)):
            // UTF-8 byte order is code point order, and equality is exact, as in the evaluator.
            if a.utf8.elementsEqual(b.utf8) { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        default: return nil
        }
    }

    /// The value as an offer would carry it, to test a candidate against a filter's terms.
    var json: JSONValue {
        switch self {
        case .number(let number): return .number(number)
        case .string(let text): return .string(text)
        case .null: return .null
        }
    }

    /// A string from an offer read as a number: a decimal literal, a boolean word (1/0), or for
    /// `driver_version` a dotted version; nil for anything else.
    static func number(fromOffer text: String, version: Bool) -> Double? {
        if version, text.utf8.contains(UInt8(ascii: ".")) {
            if let encoded = shortVersion(text) ?? PythonText.numericVersion(text) { return encoded }
        }
        if let number = decimal(text) { return number }
        switch text {
        case "true", "True": return 1
        case "false", "False": return 0
        default: return nil
        }
    }

    /// The country code of a `geolocation`: after the last comma, spaces trimmed (`"Oslo, NO"` → `NO`).
    /// Works on UTF-8 so the hot path neither allocates nor segments graphemes.
    static func countryCode(_ text: String) -> Substring.UTF8View {
        var code = Substring(text).utf8
        if let comma = code.lastIndex(of: UInt8(ascii: ",")) { code = code[code.index(after: comma)...] }
        while code.first == UInt8(ascii: " ") { code = code.dropFirst() }
        while code.last == UInt8(ascii: " ") { code = code.dropLast() }
        return code
    }

    /// `major.minor.patch` of one to three ASCII digits each, the usual driver version, encoded without
    /// allocating; nil for anything else (the general rule then applies).
    private static func shortVersion(_ text: String) -> Double? {
        var total = 0
        var part = 0
        var digits = 0
        var parts = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                total = total * 1000 + part
                (part, digits, parts) = (0, 0, parts + 1)
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 {
                part = part * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                return nil
            }
        }
        guard parts == 2, digits > 0 else { return nil }
        return Double(total * 1000 + part)
    }

    /// `[+-]digits[.digits][e[+-]digits]` (or `.digits…`) as a Double; nil for other text,
    /// including `inf`, `nan` and hex, which Swift's parser would otherwise accept.
    private static func decimal(_ text: String) -> Double? {
        var digitsSeen = false
        var pointSeen = false
        var exponentAt: Int?
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digitsSeen = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard index == 0 || (exponentAt != nil && index == exponentAt! + 1) else { return nil }
            case UInt8(ascii: "."):
                guard !pointSeen, exponentAt == nil else { return nil }
                pointSeen = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard digitsSeen, exponentAt == nil else { return nil }
                exponentAt = index
                digitsSeen = false
            default:
                return nil
            }
        }
        guard digitsSeen else { return nil }
        return Double(text)
    }
}
