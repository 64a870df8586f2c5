import Foundation

/// A JSON text that is not a valid document (RFC 8259), with the byte offset where it goes wrong.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// Which members a parse keeps of the objects at some depths (the document is depth 0, the
/// values of its members or items depth 1, and so on). Objects at other depths keep all.
struct JSONPruning: Sendable {
    /// The members kept at one depth.
    struct Level: Sendable {
        let members: Set<String>
        /// The members' UTF-8, to recognise a plain member name without making a String of it.
        let memberBytes: [[UInt8]]

        init(_ members: Set<String>) {
            self.members = members
            self.memberBytes = members.map { Array($0.utf8) }
        }

        /// True when the bytes of a member name without escapes are one of the members.
        func keeps(_ name: ArraySlice<UInt8>) -> Bool {
            memberBytes.contains { $0.count == name.count && $0.elementsEqual(name) }
        }
    }

    private var levels: [Int: Level] = [:]

    /// Keeps only `members` of the objects at `depth`.
    init(depth: Int, members: Set<String>) {
        levels[depth] = Level(members)
    }

    /// This pruning, also keeping only `members` of the objects at `depth`.
    func keeping(_ members: Set<String>, atDepth depth: Int) -> JSONPruning {
        var pruning = self
        pruning.levels[depth] = Level(members)
        return pruning
    }

    /// What objects at `depth` keep; nil: every member.
    func level(at depth: Int) -> Level? { levels[depth] }
}

/// Parses a JSON text straight into a ``JSONValue``, strictly (RFC 8259: no comments, no
/// trailing commas, no leading zeros, no bare control characters in strings).
///
/// `JSONDecoder` reads a ``JSONValue`` through `Codable`, which tries each type in turn and
/// throws a `DecodingError` for every miss: a 1,000-instance listing spent most of an agent's
/// tick there. This reads each byte once.
struct JSONParser {
    /// Deeper nesting is refused rather than risking the stack.
    static let maximumDepth = 512

    private let bytes: [UInt8]
    private let pruning: JSONPruning?
    private var index = 0

    private init(_ bytes: [UInt8], pruning: JSONPruning?) {
        self.bytes = bytes
        self.pruning = pruning
    }

    /// The document in `data`, or a ``JSONParseError``.
    static func parse(_ data: Data) throws -> JSONValue {
        try parse(Array(data), pruning: nil)
    }

    /// The document in `bytes`, or a ``JSONParseError``; with `pruning`, the objects at its
    /// depth keep only its members (the others are still checked, then dropped).
    static func parse(_ bytes: [UInt8], pruning: JSONPruning?) throws -> JSONValue {
        var parser = JSONParser(bytes, pruning: pruning)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.failure("unexpected text after the document") }
        return value
    }

    // MARK: values

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = peek() else { throw failure("unexpected end of the document") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character \(Self.show(byte))")
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        let pruned = pruning?.level(at: depth)
        if let pruned { members.reserveCapacity(pruned.members.count) }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
            // In a pruned object most names are dropped: a plain one is matched on its bytes
            // and becomes a String only when kept.
            let start = index + 1
            let key: String?
            if let pruned, try skipPlainString() {
                let name = bytes[start..<index - 1]
                key = pruned.keeps(name) ? String(decoding: name, as: UTF8.self) : nil
            } else {
                let name = try string()
                key = pruned.map { $0.members.contains(name) } ?? true ? name : nil
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "expected ':' after a member name")
            skipWhitespace()
            if let key {
                members[key] = try value(depth: depth + 1)
            } else {
                try skipValue(depth: depth + 1)
            }
            skipWhitespace()
            if try endOrComma(UInt8(ascii: "}")) { return .object(members) }
        }
    }

    /// Checks the value at the cursor and moves past it without building it: a pruned member.
    /// Strings without escapes and numbers are only scanned; anything else is parsed.
    private mutating func skipValue(depth: Int) throws {
        guard depth < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = peek() else { throw failure("unexpected end of the document") }
        switch byte {
        case UInt8(ascii: "\""):
            if try !skipPlainString() { _ = try string() }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if try endOrComma(UInt8(ascii: "]")) { return }
            }
        case UInt8(ascii: "{"):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
                if try !skipPlainString() { _ = try string() }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if try endOrComma(UInt8(ascii: "}")) { return }
            }
        default:
            _ = try value(depth: depth)
        }
    }

    /// Moves past a string of plain ASCII (no escape) and returns true; leaves the cursor on its
    /// opening quote and returns false for any other string, which `string()` then reads.
    private mutating func skipPlainString() throws -> Bool {
        var cursor = index + 1
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") {
                index = cursor + 1
                return true
            }
            if byte == UInt8(ascii: "\\") || byte >= 0x80 { return false }
            guard byte >= 0x20 else {
                index = cursor
                throw failure("a control character in a string must be escaped")
            }
            cursor += 1
        }
        index = cursor
        throw failure("unterminated string")
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            if try endOrComma(UInt8(ascii: "]")) { return .array(items) }
        }
    }

    /// True after `close`; false after a comma (another element follows).
    private mutating func endOrComma(_ close: UInt8) throws -> Bool {
        guard let byte = peek() else { throw failure("unexpected end of the document") }
        index += 1
        if byte == close { return true }
        if byte == UInt8(ascii: ",") { return false }
        index -= 1
        throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))'")
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        let matches = index + count <= bytes.count
            && word.withUTF8Buffer { expected in bytes[index..<index + count].elementsEqual(expected) }
        guard matches else { throw failure("unexpected character \(Self.show(bytes[index]))") }
        index += count
    }

    // MARK: numbers

    private mutating func number() throws -> Double {
        let start = index
        try scanNumber()
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            index = start
            throw failure("the number \(text) is out of range")
        }
        return number
    }

    /// Moves past a number, checking its grammar (RFC 8259), not its range.
    private mutating func scanNumber() throws {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), Self.isDigit(first) else { throw failure("expected a digit") }
        index += 1
        if first == UInt8(ascii: "0"), let next = peek(), Self.isDigit(next) {
            throw failure("a number may not start with 0")
        }
        skipDigits()
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let digit = peek(), Self.isDigit(digit) else { throw failure("expected a digit after '.'") }
            skipDigits()
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), Self.isDigit(digit) else { throw failure("expected a digit in the exponent") }
            skipDigits()
        }
    }

    private mutating func skipDigits() {
        while let byte = peek(), Self.isDigit(byte) { index += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: strings

    private mutating func string() throws -> String {
        index += 1  // "
        let start = index
        // The common case, no escapes: one copy of the bytes, validated as UTF-8 unless all ASCII.
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try utf8(start..<index, ascii: ascii)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        var scalars: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw failure("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &scalars)
            case ..<0x20:
                throw failure("a control character in a string must be escaped")
            default:
                scalars.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string")
    }

    /// The text of `range`; `ascii` says every byte is below 0x80, which is valid UTF-8 as is.
    private func utf8(_ range: Range<Int>, ascii: Bool) throws -> String {
        try bytes.withUnsafeBufferPointer { buffer in
            let slice = UnsafeBufferPointer(rebasing: buffer[range])
            if ascii { return String(decoding: slice, as: UTF8.self) }
            guard let text = String(validating: slice, as: UTF8.self) else {
                throw JSONParseError(offset: range.lowerBound, reason: "a string is not valid UTF-8")
            }
            return text
        }
    }

    /// Appends the UTF-8 of the escape after a backslash.
    private mutating func escape(into output: inout [UInt8]) throws {
        guard let byte = peek() else { throw failure("unterminated string") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0c)
        case UInt8(ascii: "n"): output.append(0x0a)
        case UInt8(ascii: "r"): output.append(0x0d)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hexQuad()
            if (0xD800...0xDBFF).contains(code) {
                // A high surrogate must be followed by an escaped low one.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("a lone surrogate \\u\(String(code, radix: 16))")
                }
                index += 2
                let low = try hexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate \\u\(String(code, radix: 16))") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(code) {
                throw failure("a lone surrogate \\u\(String(code, radix: 16))")
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("an invalid \\u escape") }
            output.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            index -= 1
            throw failure("an invalid escape \\\(Self.show(byte))")
        }
    }

    private mutating func hexQuad() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape needs four hex digits") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape needs four hex digits")
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }

    // MARK: bytes

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws {
        guard peek() == byte else { throw failure(reason) }
        index += 1
    }

    private func failure(_ reason: String) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }

    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
