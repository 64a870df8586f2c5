import Foundation
import Testing

@testable import ErgonCore

@Suite("Exit marker")
struct ExitMarkerTests {
    static let label = InstanceLabel(agentID: "a1", taskID: UUID(uuidString: "5F0E8F5C-2B7A-4C55-9B1E-0C6B1E2D3F40")!, attempt: 2)

    func status(_ text: String, label: InstanceLabel = Self.label) -> Int? {
        ExitMarker.status(in: Array(text.utf8), label: label)
    }

    @Test func readsTheLastMarkerOfThisAttempt() {
        let prefix = ExitMarker.prefix(label: Self.label)
        #expect(status("hello\n\(prefix)0\n") == 0)
        #expect(status("hello\n\(prefix)3\n") == 3)
        #expect(status("\(prefix)1\nagain\n\(prefix)137\n") == 137)
        // After an unterminated last line of the task's own output.
        #expect(status("no newline\(prefix)2\n") == 2)
        #expect(status("\(prefix)4") == 4)
    }

    @Test func readsTheMarkerOfTheAgentThatLaunchedAnAdoptedAttempt() {
        // Agent b-2 took the attempt over from a1, whose wrapper printed the marker.
        let adopter = InstanceLabel(agentID: "b-2", taskID: Self.label.taskID, attempt: 2)
        #expect(status("out\n\(ExitMarker.prefix(label: Self.label))5\n", label: adopter) == 5)
        // Not a marker: no tag, or no agent id, before the task.
        let tail = ":\(Self.label.taskID.uuidString.lowercased()):2 status=0\n"
        #expect(status("##ergon-exit## ergon:\(tail)", label: adopter) == nil)
        #expect(status("echo ergon:a1\(tail)", label: adopter) == nil)
        #expect(status("##ergon-exit## ergon:a b\(tail)", label: adopter) == nil)
    }

    @Test func ignoresMarkersOfOtherAttemptsAndBrokenOnes() {
        let other = InstanceLabel(agentID: "a1", taskID: Self.label.taskID, attempt: 1)
        #expect(status("\(ExitMarker.prefix(label: other))0\n") == nil)
        #expect(status("\(ExitMarker.prefix(label: Self.label))\n") == nil)
        #expect(status("\(ExitMarker.prefix(label: Self.label))12abc\n") == nil)
        #expect(status("plain output\n") == nil)
        #expect(status("") == nil)
    }
}
