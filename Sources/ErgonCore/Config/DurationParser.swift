import Foundation

/// Reads the durations written in config and workflow files: `90s`, `10m`, `2h`, `1d`,
/// combinations such as `1h30m`, `500ms`, and plain numbers meaning seconds.
public enum DurationParser {
    /// The accepted forms, for error messages.
    public static let acceptedForms = "a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m"

    /// The largest duration accepted (100 years): bigger values are typos, and they would
    /// overflow the arithmetic of `Duration` and dates.
    public static let maximumSeconds: Double = 100 * 365 * 86_400

    private static let units: [(suffix: String, seconds: Double)] = [
        ("d", 86_400), ("h", 3_600), ("ms", 0.001), ("m", 60), ("s", 1),
    ]
    // Components must appear from the largest unit to the smallest, each at most once.
    private static let rank: [String: Int] = ["d": 0, "h": 1, "m": 2, "s": 3, "ms": 4]

    /// The duration `text` denotes, or nil when it is not a valid non-negative duration.
    public static func parse(_ text: String) -> Duration? {
        seconds(text).map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
    }

    /// The number of seconds `text` denotes, or nil when it is not a valid non-negative duration.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let plain = number(Substring(trimmed)) { return plain <= maximumSeconds ? plain : nil }
        var rest = Substring(trimmed)
        var total = 0.0
        var lastRank = -1
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard let value = number(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }),
                  let unitRank = rank[unit.suffix], unitRank > lastRank
            else { return nil }
            lastRank = unitRank
            total += value * unit.seconds
            rest = rest.dropFirst(unit.suffix.count).drop { $0 == " " }
        }
        return total <= maximumSeconds ? total : nil
    }

    /// A non-negative decimal number made only of digits and at most one inner dot.
    private static func number(_ text: Substring) -> Double? {
        guard let first = text.first, first.isASCII, first.isNumber, text.last?.isNumber == true,
              text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              text.filter({ $0 == "." }).count <= 1
        else { return nil }
        return Double(text)
    }
}
