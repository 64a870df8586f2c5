import Foundation
import Logging
import Synchronization

/// A log handler that keeps every line (`LEVEL message key=value…`) so tests can check what
/// was logged, and what must never be.
public final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])

    public init() {}

    public var lines: [String] { stored.withLock { $0 } }
    public var text: String { lines.joined(separator: "\n") }

    func append(_ line: String) { stored.withLock { $0.append(line) } }

    /// A logger writing here, at trace level so nothing is filtered out.
    public func logger() -> Logger {
        var logger = Logger(label: "ergon-tests") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
