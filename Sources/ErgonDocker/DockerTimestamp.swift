/// An instant with nanosecond precision, as the engine stamps log messages.
public struct DockerTimestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0...999_999_999.
    public var nanoseconds: Int64

    /// An instant from its parts (nanoseconds are normalised into the seconds).
    public init(seconds: Int64, nanoseconds: Int64) {
        let total = seconds * 1_000_000_000 + nanoseconds
        self.seconds = total >= 0 ? total / 1_000_000_000 : (total - 999_999_999) / 1_000_000_000
        self.nanoseconds = total - self.seconds * 1_000_000_000
    }

    /// Parses RFC 3339 with optional fraction (`2026-11-23T16:44:10.251363557Z`, `…+02:00`).
    public init?<Bytes: Collection>(rfc3339 text: Bytes) where Bytes.Element == UInt8 {
        let bytes = Array(text)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 9 {
                    nanos = nanos * 10 + Int64(bytes[index] - 48)
                    digits += 1
                }
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard index < bytes.count else { return nil }
        var offset: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let hours = number((index + 1)..<(index + 3)), index + 3 < bytes.count,
                bytes[index + 3] == UInt8(ascii: ":"), let minutes = number((index + 4)..<(index + 6))
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.init(seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanoseconds: nanos)
    }

    /// The engine's `since`/`until` form: `SECONDS.NANOSECONDS`.
    public var apiParameter: String {
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }

    /// Parses the `SECONDS.NANOSECONDS` form.
    public init?(apiParameter text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 9, let seconds = Int64(parts[0]), let nanos = Int64(parts[1]),
            nanos >= 0
        else { return nil }
        self.init(seconds: seconds, nanoseconds: nanos)
    }

    /// This instant moved by `nanoseconds` (negative: earlier).
    public func adding(nanoseconds delta: Int64) -> DockerTimestamp {
        DockerTimestamp(seconds: seconds, nanoseconds: nanoseconds + delta)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    public var description: String { apiParameter }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
