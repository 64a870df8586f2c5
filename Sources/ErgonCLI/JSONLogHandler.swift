import Foundation
import Logging
import Synchronization

/// Writes each message as one JSON object on one line (`logging.format: json`), for log
/// collectors: `time` (ISO 8601, UTC), `level`, `label`, `source`, `message`, then every
/// metadata entry as a string field. A metadata key that is one of those names is written as
/// `metadata.<key>`, so it cannot hide them.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// Takes one finished line, newline included.
    let write: @Sendable ([UInt8]) -> Void
    let now: @Sendable () -> Date

    static let fixedKeys: Set<String> = ["time", "level", "label", "source", "message"]

    init(
        label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        write: @escaping @Sendable ([UInt8]) -> Void = { StandardError.writeLine($0) }, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
        self.now = now
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        let time = now().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
        let fixed = [
            ("time", time), ("level", event.level.rawValue), ("label", label), ("source", event.source),
            ("message", event.message.description),
        ]
        let entries = merged.sorted { $0.key < $1.key }.map { key, value in
            (Self.fixedKeys.contains(key) ? "metadata." + key : key, "\(value)")
        }
        let body = (fixed + entries).map { Self.quoted($0.0) + ":" + Self.quoted($0.1) }.joined(separator: ",")
        write(Array("{\(body)}\n".utf8))
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(control.value, radix: 16).count)
                    + String(control.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Standard error, written a whole line at a time so lines of concurrent messages never mix.
enum StandardError {
    private static let lock = Mutex(())

    static func writeLine(_ bytes: [UInt8]) {
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // nowhere left to report it
                }
                offset += written
            }
        }
    }
}
