import Foundation

/// A task as `--json` prints it and the task API answers it (snake_case keys, ISO 8601 dates
/// with the encoders of both). Absent values are `null`, never missing.
public struct TaskJSON: Encodable, Sendable {
    public let id: String
    public let slug: String
    public let state: String
    public let workflowId: String
    public let attempt: Int
    public let maxAttempts: Int
    public let exitCode: Int?
    public let reason: String?
    public let image: String
    public let gpu: Bool
    public let priority: Int
    public let parents: [String]
    public let agent: String?
    public let createdAt: Date
    public let updatedAt: Date

    public init(_ task: TaskRecord) {
        id = task.id.uuidString.lowercased()
        slug = task.spec.slug
        state = task.state.rawValue
        workflowId = task.workflowID.uuidString.lowercased()
        attempt = task.attempt
        maxAttempts = task.maxAttempts
        exitCode = task.exitCode
        reason = task.reason
        image = task.spec.image
        gpu = task.spec.gpu
        priority = task.spec.priority
        parents = task.parentIDs.map { $0.uuidString.lowercased() }
        agent = task.agentID
        createdAt = task.createdAt
        updatedAt = task.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, state, workflowId, attempt, maxAttempts, exitCode, reason, image, gpu, priority, parents, agent
        case createdAt, updatedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(slug, forKey: .slug)
        try c.encode(state, forKey: .state)
        try c.encode(workflowId, forKey: .workflowId)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(maxAttempts, forKey: .maxAttempts)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(reason, forKey: .reason)
        try c.encode(image, forKey: .image)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(priority, forKey: .priority)
        try c.encode(parents, forKey: .parents)
        try c.encode(agent, forKey: .agent)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}


/// An attempt as `tasks show --json` prints it and the task API answers it; `log` is where its
/// log is (the store's location for the CLI, the API path for the server).
public struct AttemptJSON: Encodable, Sendable {
    public let number: Int
    public let agent: String
    public let phase: String
    public let instanceId: String?
    public let gpu: String?
    public let outcome: String?
    public let claimedAt: Date
    public let startedAt: Date?
    public let endedAt: Date?
    public let logBytes: Int64
    public let log: String
    /// Dollars per hour of its instance, storage included; nil without a price.
    public let pricePerHour: Double?
    /// Seconds its instance was billed (so far, while it lives).
    public let billedSeconds: Double?
    /// Dollars: price × billed time.
    public let cost: Double?
    /// The offer rented and why that one (vast); nil for docker.
    public let rental: RentalChoice?
    /// Seconds from the order to the command running; nil until it ran.
    public let provisioningSeconds: Double?
    /// The same as text, or `still provisioning` / `never ran`.
    public let provisioning: String
    /// Why the attempt ended; nil while it goes on.
    public let endReason: String?

    public init(_ attempt: AttemptRecord, log: String, at now: Date = Date()) {
        rental = attempt.rental
        provisioningSeconds = attempt.provisioningSeconds
        provisioning = attempt.provisioningState
        endReason = attempt.endReason
        pricePerHour = attempt.pricePerHour
        billedSeconds = attempt.pricePerHour == nil ? nil : attempt.billedSeconds(at: now)
        cost = attempt.cost(at: now)
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
        self.log = log
    }

    enum CodingKeys: String, CodingKey {
        case number, agent, phase, instanceId, gpu, outcome, claimedAt, startedAt, endedAt, logBytes, log
        case pricePerHour, billedSeconds, cost, rental, provisioningSeconds, provisioning, endReason
    }

    public func encode(to encoder: any Encoder) throws {
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
        try c.encode(pricePerHour, forKey: .pricePerHour)
        try c.encode(billedSeconds, forKey: .billedSeconds)
        try c.encode(cost, forKey: .cost)
        try c.encode(rental, forKey: .rental)
        try c.encode(provisioningSeconds, forKey: .provisioningSeconds)
        try c.encode(provisioning, forKey: .provisioning)
        try c.encode(endReason, forKey: .endReason)
    }
}
