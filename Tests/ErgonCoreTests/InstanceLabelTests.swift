import ErgonCore
import Foundation
import Testing

@Suite("Instance labels")
struct InstanceLabelTests {
    let label = InstanceLabel(agentID: "gpu-box.1", taskID: UUID(), attempt: 3)

    @Test("Docker labels read back to the same owner; a missing or bad part reads as none")
    func docker() {
        #expect(InstanceLabel(dockerLabels: label.dockerLabels) == label)
        var broken = label.dockerLabels
        broken[InstanceLabel.dockerAttemptKey] = "0"
        #expect(InstanceLabel(dockerLabels: broken) == nil)
        broken = label.dockerLabels
        broken[InstanceLabel.dockerTaskKey] = nil
        #expect(InstanceLabel(dockerLabels: broken) == nil)
    }

    @Test("The Vast label is ergon:<agent>:<task>:<attempt>, starts with the agent's prefix and reads back")
    func vast() {
        let text = label.vastLabel
        #expect(text == "ergon:gpu-box.1:\(label.taskID.uuidString.lowercased()):3")
        #expect(text.hasPrefix(InstanceLabel.vastPrefix(agentID: "gpu-box.1")))
        #expect(InstanceLabel(vastLabel: text) == label)
        for foreign in ["", "ergon:a:b:1", "other:a:\(label.taskID.uuidString):1", "ergon::\(label.taskID.uuidString):1"] {
            #expect(InstanceLabel(vastLabel: foreign) == nil, "\(foreign)")
        }
    }
}
