import Foundation

/// The line a launch wrapper prints when the task's command ends, carrying its exit status,
/// for backends that report no exit code (Vast). One place knows its format.
///
/// The marker names the attempt's label so that output of another run (a log replayed by the
/// task, a parent's log printed by a child) cannot be mistaken for this attempt's end.
public enum ExitMarker {
    /// The fixed start of every marker.
    public static let tag = "##ergon-exit##"

    /// The text before the status, for one attempt.
    public static func prefix(label: InstanceLabel) -> String { "\(tag) \(label.vastLabel) status=" }

    /// A `printf` format and its arguments for a POSIX shell, printing the marker with the
    /// status held in `statusVariable`. The label has no `%` or quote: it is made of an agent
    /// id, a UUID and a number, and agent ids are checked at config load.
    public static func shellPrintf(label: InstanceLabel, statusVariable: String) -> String {
        "printf '%s%d\\n' '\(prefix(label: label))' \"$\(statusVariable)\""
    }

    /// How many bytes from the end of a log are searched: the marker is the wrapper's last
    /// line, so only what the platform adds after it can follow.
    public static let searchWindow = 64 * 1024

    /// The exit status in the last marker of `label`'s task and attempt within `text`, if any,
    /// whichever agent's id the marker carries: an attempt taken over from another agent
    /// keeps the marker of the agent that launched it. The marker may follow an unterminated
    /// last line of the task's output on the same line.
    public static func status(in text: [UInt8], label: InstanceLabel) -> Int? {
        status(in: text, label: label, tag: tag, word: "status=")
    }

    /// The status in the last `TAG ergon:AGENT:TASK:ATTEMPT WORD<status>` line of `label`'s
    /// task and attempt in `text`: the exit marker's shape, shared with ``AcceptanceMarker``.
    static func status(in text: [UInt8], label: InstanceLabel, tag: String, word: String) -> Int? {
        let head = Array("\(tag) ergon:".utf8)
        let needle = Array(":\(label.taskID.uuidString.lowercased()):\(label.attempt) \(word)".utf8)
        guard text.count >= head.count + needle.count else { return nil }
        var start = text.count - needle.count
        while start >= head.count {
            if text[start] == needle[0], Array(text[start..<(start + needle.count)]) == needle,
                markerHead(in: text, endingAt: start, head: head)
            {
                var index = start + needle.count
                var negative = false
                if index < text.count, text[index] == UInt8(ascii: "-") {
                    negative = true
                    index += 1
                }
                var value = 0
                var digits = 0
                while index < text.count, digits < 10, let digit = Self.digit(text[index]) {
                    value = value * 10 + digit
                    digits += 1
                    index += 1
                }
                let ended = index == text.count || text[index] == 0x0a || text[index] == 0x0d
                if digits > 0, ended { return negative ? -value : value }
            }
            start -= 1
        }
        return nil
    }

    /// True when an agent id (letters, digits, `.`, `_`, `-`, as config loading allows) ends
    /// at `end` and `head` (`##ergon-exit## ergon:`) comes right before it.
    private static func markerHead(in text: [UInt8], endingAt end: Int, head: [UInt8]) -> Bool {
        var agentStart = end
        while agentStart > 0, isAgentIDByte(text[agentStart - 1]) { agentStart -= 1 }
        guard agentStart < end, agentStart >= head.count else { return false }
        return Array(text[(agentStart - head.count)..<agentStart]) == head
    }

    private static func isAgentIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
    }
}
