import ErgonCore
import Foundation

/// An attempt as the operator API answers it: the CLI's `AttemptJSON` shape, where `log`
/// is the API path that serves the attempt's log.
struct AttemptView: Encodable, Sendable {
    let number: Int
    let agent: String
    let phase: String
    let instanceId: String?
    let gpu: String?
    let outcome: String?
    let claimedAt: Date
    let startedAt: Date?
    let endedAt: Date?
    let logBytes: Int64
    let log: String

    init(_ attempt: AttemptRecord) {
        number = attempt.number
        agent = attempt.agentID
        phase = attempt.phase.rawValue
        instanceId = attempt.instanceID
        gpu = attempt.gpu
        outcome = attempt.outcome?.summary
        claimedAt = attempt.claimedAt
        startedAt = attempt.startedAt
        endedAt = attempt.endedAt
        logBytes = attempt.logSpooled
        log = "/api/v1/tasks/\(attempt.taskID.uuidString.lowercased())/logs?attempt=\(attempt.number)"
    }

    enum CodingKeys: String, CodingKey {
        case number, agent, phase, instanceId, gpu, outcome, claimedAt, startedAt, endedAt, logBytes, log
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(number, forKey: .number)
        try c.encode(agent, forKey: .agent)
        try c.encode(phase, forKey: .phase)
        try c.encode(instanceId, forKey: .instanceId)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(claimedAt, forKey: .claimedAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(endedAt, forKey: .endedAt)
        try c.encode(logBytes, forKey: .logBytes)
        try c.encode(log, forKey: .log)
    }
}
