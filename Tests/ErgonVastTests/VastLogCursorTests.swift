import Foundation
import Testing

@testable import ErgonVast

@Suite("Vast log overlap")
struct VastLogCursorTests {
    /// Lines `from...to`, each `line N`.
    static func lines(_ range: ClosedRange<Int>) -> String { range.map { "line \($0)\n" }.joined() }

    /// What the API returns for a log of `total` lines with a `tail`.
    static func tail(of total: Int, _ tail: Int, partial: String = "") -> [UInt8] {
        total == 0 ? Array(partial.utf8) : Array((lines(max(1, total - tail + 1)...total) + partial).utf8)
    }

    @Test func whileTheLogFitsInTheTailCountsAreExactEvenWithRepeats() {
        var cursor = VastLogCursor(tail: 100)
        var step = cursor.advance(with: Array("x\nx\n".utf8))
        #expect(String(decoding: step.bytes, as: UTF8.self) == "x\nx\n")
        cursor = step.cursor
        step = cursor.advance(with: Array("x\nx\nx\npart".utf8))
        #expect(String(decoding: step.bytes, as: UTF8.self) == "x\n")
        cursor = step.cursor
        step = cursor.advance(with: Array("x\nx\nx\npartial done\n".utf8))
        #expect(String(decoding: step.bytes, as: UTF8.self) == "partial done\n")
        #expect(!step.gap)
    }

    @Test func overlappingTailsGiveEachLineOnce() throws {
        var cursor = VastLogCursor(tail: 50)
        var stored = ""
        for total in [10, 40, 75, 110, 150, 160, 199] {
            let step = cursor.advance(with: Self.tail(of: total, cursor.tail))
            #expect(!step.gap, "a gap after \(total) lines")
            stored += String(decoding: step.bytes, as: UTF8.self)
            cursor = try #require(VastLogCursor(encoded: step.cursor.encoded))
        }
        #expect(stored == Self.lines(1...199))
    }

    @Test func aBurstThatOutrunsTheTailWritesAGapMarkerAndGrowsTheTail() {
        var cursor = VastLogCursor(tail: 20)
        var step = cursor.advance(with: Self.tail(of: 15, 20))
        cursor = step.cursor
        step = cursor.advance(with: Self.tail(of: 100, 20))
        #expect(step.gap)
        let text = String(decoding: step.bytes, as: UTF8.self)
        #expect(text.hasPrefix(VastLogCursor.gapMarker))
        #expect(text.hasSuffix(Self.lines(81...100)))
        #expect(step.cursor.tail == 40)
        #expect(step.missedOverlap)  // a longer tail could have reached back: the backend reads one
        // The longer read that follows finds the overlap and loses nothing.
        var longer = cursor
        longer.tail = 90
        let reread = longer.advance(with: Self.tail(of: 100, 90))
        #expect(!reread.gap && !reread.missedOverlap)
        #expect(String(decoding: reread.bytes, as: UTF8.self) == Self.lines(16...100))
        // The next read continues without loss from the new position.
        cursor = step.cursor
        step = cursor.advance(with: Self.tail(of: 110, cursor.tail))
        #expect(!step.gap)
        #expect(String(decoding: step.bytes, as: UTF8.self) == Self.lines(101...110))
    }

    @Test func aFirstReadThatIsAlreadyFullSaysTheStartIsMissing() {
        let step = VastLogCursor(tail: 10).advance(with: Self.tail(of: 30, 10))
        #expect(step.gap)
        #expect(step.missedOverlap)
        // A text shorter than the tail is the whole output: nothing longer to read.
        #expect(!VastLogCursor(tail: 10).advance(with: Self.tail(of: 5, 10)).missedOverlap)
    }

    @Test func aTailShorterThanAskedIsNotTrustedWhenItsStartMoved() {
        // Vast's tail counts log entries: an unterminated entry takes a slot, so a text with
        // fewer complete lines than the tail may still have lost its start.
        var cursor = VastLogCursor(tail: 1000)
        var step = cursor.advance(with: Self.tail(of: 900, 1000))
        cursor = step.cursor
        step = cursor.advance(with: Array((Self.lines(202...1200) + "partial").utf8))
        #expect(!step.gap)
        #expect(String(decoding: step.bytes, as: UTF8.self) == Self.lines(901...1200))
    }

    @Test func repeatedBlocksThatMakeTheOverlapAmbiguousAreSaid() {
        var cursor = VastLogCursor(tail: 20)
        let block = String(repeating: "same\n", count: 10)
        var step = cursor.advance(with: Array((block + block).utf8))
        cursor = step.cursor
        step = cursor.advance(with: Array((block + block).utf8))
        #expect(step.gap)
        #expect(String(decoding: step.bytes, as: UTF8.self).hasPrefix(VastLogCursor.ambiguityMarker))
        #expect(step.cursor.tail == cursor.tail * 2)
    }

    @Test func cursorsRoundTripAndRejectForeignText() {
        let cursor = VastLogCursor(tail: 2000, linesTaken: nil, lastLines: [1, 0xffff_ffff_ffff_ffff])
        #expect(VastLogCursor(encoded: cursor.encoded) == cursor)
        #expect(VastLogCursor(encoded: VastLogCursor().encoded) == VastLogCursor())
        #expect(VastLogCursor(encoded: "v1:123:4") == nil)
        #expect(VastLogCursor(encoded: "vast1:0:1:") == nil)
    }
}
