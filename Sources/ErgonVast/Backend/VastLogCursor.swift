import Foundation

/// Where the agent is in a Vast instance's output, kept between reads.
///
/// Vast only returns the last `tail` lines of a container's output, so successive reads
/// overlap. The cursor remembers how many complete lines were taken and a fingerprint of the
/// last few, which finds where the new text continues. While the whole output still fits in
/// the tail, the line count alone is exact.
public struct VastLogCursor: Equatable, Sendable {
    /// The tail asked for on the next read.
    public var tail: Int
    /// Complete lines taken so far, while every line since the start was seen; nil after a gap.
    public var linesTaken: Int?
    /// Fingerprints of the last lines taken, oldest first (at most `Self.remembered`).
    public var lastLines: [UInt64]

    public static let initialTail = 1000
    public static let maximumTail = 20000
    /// How many trailing lines must match to recognise the overlap.
    public static let remembered = 8

    public init(tail: Int = Self.initialTail, linesTaken: Int? = 0, lastLines: [UInt64] = []) {
        self.tail = tail
        self.linesTaken = linesTaken
        self.lastLines = lastLines
    }

    /// Reads a cursor stored by `encoded`; nil (start over) when it is not one.
    public init?(encoded: String) {
        let parts = encoded.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "vast1", let tail = Int(parts[1]), tail > 0 else { return nil }
        let taken: Int?
        if parts[2] == "-" { taken = nil } else if let count = Int(parts[2]), count >= 0 { taken = count } else { return nil }
        var lines: [UInt64] = []
        for item in parts[3].split(separator: ",") {
            guard let value = UInt64(item, radix: 16) else { return nil }
            lines.append(value)
        }
        self.init(tail: tail, linesTaken: taken, lastLines: lines)
    }

    /// The form stored in the queue with the attempt.
    public var encoded: String {
        let taken = linesTaken.map(String.init) ?? "-"
        return "vast1:\(tail):\(taken):" + lastLines.map { String($0, radix: 16) }.joined(separator: ",")
    }
}

extension VastLogCursor {
    /// What one read adds to the stored log, and the cursor after it.
    public struct Step: Equatable, Sendable {
        /// New complete lines, each with its newline, plus a gap marker when lines were lost.
        public var bytes: [UInt8]
        public var cursor: VastLogCursor
        /// True when the overlap with the previous read could not be found.
        public var gap: Bool
        /// True when nothing taken before was found in a text that filled the whole tail: a
        /// longer tail may still reach back to it.
        public var missedOverlap: Bool = false
    }

    /// The gap marker written into the log: lines between two reads were lost.
    public static let gapMarker = "[ergon] some lines of this log were lost: the output grew faster than the agent's reads; reading a longer tail from now on\n"

    /// Takes the complete lines of `text` (the last `tail` lines of the output) that were not
    /// taken before. An unterminated last line waits for the next read, when it is complete.
    public func advance(with text: [UInt8]) -> Step {
        let lines = Self.completeLines(text)
        let full = lines.count >= tail  // the output may be longer than what came back
        let start: Int
        var gap = false
        if !full, let taken = linesTaken, taken <= lines.count, Self.endsWith(lastLines, lines[..<taken]) {
            // The whole output is here (the lines before the count are the ones taken): the
            // count is exact even with repeated lines.
            start = taken
        } else if let overlap = Self.overlapEnd(of: lastLines, in: lines) {
            start = overlap.end
            // Several places match: a repeated block may hide new lines; say so.
            gap = overlap.ambiguous
        } else {
            // Nothing read before matches: lines between the reads (or before the first one)
            // are gone. Say so in the log rather than losing them silently.
            start = 0
            gap = true
        }
        var bytes: [UInt8] = gap ? Array((start == 0 ? Self.gapMarker : Self.ambiguityMarker).utf8) : []
        for line in lines[start...] { bytes += line }
        var next = self
        // Ask for more when lines were lost, or when the new text nearly outran the tail.
        if gap || (full && start < tail / 4) {
            next.tail = Swift.min(tail * 2, Self.maximumTail)
        }
        next.linesTaken = full || gap ? nil : lines.count
        let fingerprints = (lastLines + lines[start...].map(Self.fingerprint)).suffix(Self.remembered)
        next.lastLines = Array(fingerprints)
        return Step(bytes: bytes, cursor: next, gap: gap, missedOverlap: gap && start == 0 && full)
    }

    /// The complete lines of `text`, each with its trailing newline.
    static func completeLines(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = text.startIndex
        for index in text.indices where text[index] == 0x0a {
            lines.append(text[start...index])
            start = index + 1
        }
        return lines
    }

    /// The marker written when repeated lines make the overlap ambiguous.
    public static let ambiguityMarker = "[ergon] repeated lines made the overlap between two reads ambiguous: some repeats may be missing here; reading a longer tail from now on\n"

    /// True when `lines` ends with the lines fingerprinted in `remembered`.
    static func endsWith(_ remembered: [UInt64], _ lines: ArraySlice<ArraySlice<UInt8>>) -> Bool {
        guard lines.count >= remembered.count else { return false }
        return zip(lines.suffix(remembered.count), remembered).allSatisfy { fingerprint($0) == $1 }
    }

    /// The index after the last line of `lines` where the remembered fingerprints end, taking
    /// the latest match (a repeat may be dropped, never duplicated); `ambiguous` when the full
    /// run matches in more than one place.
    static func overlapEnd(of remembered: [UInt64], in lines: [ArraySlice<UInt8>]) -> (end: Int, ambiguous: Bool)? {
        guard !remembered.isEmpty else { return nil }
        let prints = lines.map(fingerprint)
        let needle = remembered
        var matches: [Int] = []
        var end = prints.count
        while end >= needle.count {
            if Array(prints[(end - needle.count)..<end]) == needle { matches.append(end) }
            end -= 1
        }
        if let latest = matches.first { return (latest, matches.count > 1) }
        // The read began inside the remembered run: a shorter run of it at the very top of the
        // text. At least three lines, so a lone blank line does not pass for an overlap.
        for length in stride(from: remembered.count - 1, through: min(3, remembered.count - 1), by: -1) where length >= 3 {
            if prints.count >= length, Array(prints[0..<length]) == Array(remembered.suffix(length)) { return (length, false) }
        }
        return nil
    }

    /// A stable 64-bit fingerprint of a line (FNV-1a), the same in every process.
    static func fingerprint(_ line: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in line {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
