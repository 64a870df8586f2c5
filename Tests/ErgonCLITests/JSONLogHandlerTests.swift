import Foundation
import Logging
import Synchronization
import Testing

@testable import ErgonCLI

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    /// Lines a handler wrote.
    final class Lines: Sendable {
        private let written = Mutex<[[UInt8]]>([])
        func append(_ bytes: [UInt8]) { written.withLock { $0.append(bytes) } }
        var all: [[UInt8]] { written.withLock { $0 } }
    }

    /// A logger writing through a JSON handler into `lines`, at a fixed time.
    static func logger(_ lines: Lines) -> Logger {
        var logger = Logger(label: "ergon.test") { label in
            JSONLogHandler(
                label: label, metadataProvider: nil, write: { lines.append($0) },
                now: { Date(timeIntervalSince1970: 1_700_000_000.25) })
        }
        logger.logLevel = .debug
        logger[metadataKey: "agent"] = "box-1"
        return logger
    }

    @Test("one JSON object per line with time, level, label, source, message and the metadata as strings")
    func fields() throws {
        let lines = Lines()
        let logger = Self.logger(lines)
        logger.info(
            "task \"a\" started\nsecond line\u{1}",
            metadata: ["task": "3f9a", "attempt": "\(2)", "level": "shadowed", "tags": ["x", "y"]])
        logger.trace("below the level: not written")
        logger.error("failed", metadata: ["code": .stringConvertible(7)])

        let written = lines.all
        try #require(written.count == 2)
        for line in written {
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(!line.dropLast().contains(UInt8(ascii: "\n")), "a message's newline must be escaped")
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(written[0])) as? [String: String])
        #expect(first["time"] == "2023-11-14T22:13:20.250Z")
        #expect(first["level"] == "info")
        #expect(first["label"] == "ergon.test")
        #expect(first["source"] == "ErgonCLITests")
        #expect(first["message"] == "task \"a\" started\nsecond line\u{1}")
        #expect(first["agent"] == "box-1")
        #expect(first["task"] == "3f9a")
        #expect(first["attempt"] == "2")
        #expect(first["metadata.level"] == "shadowed")
        #expect(first["tags"] == #"["x", "y"]"#)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(written[1])) as? [String: String])
        #expect(second["level"] == "error")
        #expect(second["code"] == "7")
        #expect(String(decoding: written[1], as: UTF8.self).hasPrefix(#"{"time":"#), "fixed fields come first")
    }
}
