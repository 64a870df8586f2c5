import Testing

@testable import ErgonDocker

@Suite("DockerLogCursor and timestamps")
struct DockerLogCursorTests {
    static func ts(_ text: String) -> DockerTimestamp {
        DockerTimestamp(rfc3339: Array(text.utf8))!
    }

    static func message(_ time: String, _ text: String, _ stream: DockerLogDemuxer.Stream = .stdout) -> DockerLogMessage {
        DockerLogMessage(timestamp: ts(time), stream: stream, payload: Array(text.utf8))
    }

    @Test func parsesEngineTimestamps() throws {
        let stamp = try #require(DockerTimestamp(rfc3339: Array("2026-11-23T16:44:10.251363557Z".utf8)))
        #expect(stamp.seconds == 1_795_452_250)
        #expect(stamp.nanoseconds == 251_363_557)
        #expect(stamp.apiParameter == "1795452250.251363557")
        #expect(DockerTimestamp(apiParameter: stamp.apiParameter) == stamp)
        #expect(Self.ts("1970-01-01T00:00:00Z") == DockerTimestamp(seconds: 0, nanoseconds: 0))
        #expect(Self.ts("2000-02-29T12:00:00.5+02:00") == DockerTimestamp(seconds: 951_818_400, nanoseconds: 500_000_000))
        #expect(DockerTimestamp(rfc3339: Array("2026-13-01T00:00:00Z".utf8)) == nil)
        #expect(DockerTimestamp(rfc3339: Array("not a time".utf8)) == nil)
        #expect(DockerTimestamp(seconds: 10, nanoseconds: 5).adding(nanoseconds: -1_000_000_000) == .init(seconds: 9, nanoseconds: 5))
        #expect(DockerTimestamp(seconds: 10, nanoseconds: 5).adding(nanoseconds: -6) == .init(seconds: 9, nanoseconds: 999_999_999))
    }

    @Test func splitsTheTimestampFromAFrame() throws {
        let frame = DockerLogDemuxer.Frame(stream: .stderr, payload: Array("2026-11-23T16:44:10.251363557Z hello world\n".utf8))
        let message = try #require(DockerLogMessage(frame: frame))
        #expect(message.payload == Array("hello world\n".utf8))
        #expect(message.stream == .stderr)
        #expect(DockerLogMessage(frame: .init(stream: .stdout, payload: Array("garbage\n".utf8))) == nil)
    }

    @Test func encodesAndDecodes() {
        let cursor = DockerLogCursor(since: DockerTimestamp(seconds: 12, nanoseconds: 34), taken: 5)
        #expect(cursor.encoded == "v1:12.000000034:5")
        #expect(DockerLogCursor(encoded: cursor.encoded) == cursor)
        #expect(DockerLogCursor(encoded: DockerLogCursor.start.encoded) == .start)
        #expect(DockerLogCursor(encoded: "v2:1.000000000:0") == nil)
        #expect(DockerLogCursor(encoded: "v1:1.0:0") == nil)
        #expect(DockerLogCursor(encoded: "v1:-:-3") == nil)
    }

    /// Replays an append-only log read at several moments, as the engine's inclusive `since` would
    /// answer, and checks every message comes out exactly once.
    @Test func neverRepeatsNorSkipsAcrossReads() {
        let base = "2026-01-01T00:00:"
        let log: [DockerLogMessage] = [
            Self.message(base + "00.000000001Z", "a\n"),
            Self.message(base + "00.000000001Z", "b\n"),
            Self.message(base + "00.500000000Z", "c\n", .stderr),
            Self.message(base + "02.000000000Z", "d\n"),
            Self.message(base + "02.000000000Z", "e\n"),
            // Stamped earlier than the message before it (the stderr copier was slower to write).
            Self.message(base + "01.900000000Z", "f\n", .stderr),
            Self.message(base + "02.000000000Z", "g\n"),
            Self.message(base + "05.000000000Z", "h"),
        ]
        // Every split of the log into a read-so-far prefix and later reads.
        for cuts in [[0, 8], [2, 8], [1, 4, 5, 8], [4, 5, 6, 7, 8], [3, 3, 8], [8, 8]] {
            var cursor = DockerLogCursor.start
            var output = ""
            for cut in cuts {
                let present = log.prefix(cut)
                let answer = present.filter { cursor.since == nil || $0.timestamp >= cursor.since! }
                let (bytes, next) = cursor.advance(over: Array(answer))
                output += String(decoding: bytes, as: UTF8.self)
                cursor = next
            }
            #expect(output == "a\nb\nc\nd\ne\nf\ng\nh", "cuts \(cuts)")
        }
    }

    @Test func anEmptyAnswerKeepsTheCursor() {
        let cursor = DockerLogCursor(since: DockerTimestamp(seconds: 5, nanoseconds: 0), taken: 2)
        let (bytes, next) = cursor.advance(over: [])
        #expect(bytes.isEmpty)
        #expect(next == cursor)
    }
}
