import Foundation

/// Reads the sizes written in config files: `512MiB`, `50GB`, `1.5TiB`, `100k`, or a plain
/// number of bytes. Decimal units (`kB`, `MB`, `GB`, `TB`) are powers of 1000, binary ones
/// (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024; a bare `K`, `M`, `G` or `T` is binary.
public enum ByteSizeParser {
    public static let acceptedForms = "a number of bytes or a size like 512MiB, 50GB or 1TiB"

    private static let units: [String: Double] = [
        "b": 1,
        "k": 1024, "kb": 1000, "kib": 1024,
        "m": 1_048_576, "mb": 1_000_000, "mib": 1_048_576,
        "g": 1_073_741_824, "gb": 1_000_000_000, "gib": 1_073_741_824,
        "t": 1_099_511_627_776, "tb": 1_000_000_000_000, "tib": 1_099_511_627_776,
    ]

    /// The number of bytes `text` denotes, or nil when it is not a valid size.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, let value = Double(number), let scale = unit.isEmpty ? 1 : units[unit] else { return nil }
        let bytes = (value * scale).rounded()
        guard bytes.isFinite, bytes >= 0, bytes < Double(Int64.max) / 2 else { return nil }
        return Int64(bytes)
    }

    /// `bytes` for people: `512.0 MiB`, `1.2 GiB`, `734 B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[index])
    }
}
