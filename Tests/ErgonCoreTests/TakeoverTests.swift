import ErgonCore
import Foundation
import Testing

/// What a live agent does with the tasks of agents whose lease ran out.
@Suite("Takeover decisions")
struct TakeoverTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = Takeover.Policy(lease: 30, heartbeatInterval: 5, dockerTakeoverAfter: 600)

    static func agent(_ id: String, scope: String, leaseEnds: TimeInterval) -> AgentRecord {
        AgentRecord(
            id: id, mode: "docker", scope: scope, host: id, pid: 1, startedAt: t0, heartbeatAt: t0,
            leaseExpiresAt: t0.addingTimeInterval(leaseEnds))
    }

    static func held(by agent: String, claimedAt: TimeInterval = 0) -> HeldTask {
        let id = UUID()
        let task = TaskRecord(
            id: id, workflowID: UUID(), seq: 1, spec: TaskSpec(slug: "t", image: "i", command: .shell("true")), parentIDs: [],
            state: .running, attempt: 2, maxAttempts: 3, agentID: agent, createdAt: t0, updatedAt: t0)
        return HeldTask(
            task: task,
            attempt: AttemptRecord(taskID: id, number: 2, agentID: agent, phase: .running, instanceID: "c", claimedAt: t0.addingTimeInterval(claimedAt)))
    }

    let me = agent("me", scope: "docker:engine-1", leaseEnds: 1000)

    @Test("a live agent's tasks are left alone")
    func liveAgent() {
        let other = Self.agent("other", scope: "docker:engine-1", leaseEnds: 30)
        #expect(Takeover.decide(me: me, agents: [me, other], held: [Self.held(by: "other")], now: Self.t0 + 29, policy: policy) == [])
    }

    @Test("same scope: adopted as soon as the lease ran out")
    func sameScopeAdopts() {
        let other = Self.agent("other", scope: "docker:engine-1", leaseEnds: 30)
        let held = Self.held(by: "other")
        #expect(Takeover.decide(me: me, agents: [me, other], held: [held], now: Self.t0 + 30, policy: policy)
            == [.adopt(taskID: held.task.id, from: "other")])
    }

    @Test("another scope: left until docker_takeover_after past the lease, then abandoned for a retry")
    func otherScopeWaitsThenAbandons() {
        let other = Self.agent("other", scope: "docker:engine-2", leaseEnds: 30)
        let held = Self.held(by: "other")
        #expect(Takeover.decide(me: me, agents: [me, other], held: [held], now: Self.t0 + 629, policy: policy) == [])
        let decisions = Takeover.decide(me: me, agents: [me, other], held: [held], now: Self.t0 + 630, policy: policy)
        guard case .abandon(let taskID, let attempt, let from, let reason)? = decisions.first, decisions.count == 1 else {
            Issue.record("expected one abandon, got \(decisions)")
            return
        }
        #expect(taskID == held.task.id && attempt == 2 && from == "other")
        #expect(reason.contains("agent other on other (docker:engine-2)") && reason.contains("10m"), "\(reason)")
    }

    @Test("a holder the queue has no record of: adopted by nobody, abandoned once its claim is old enough")
    func unknownHolder() {
        let held = Self.held(by: "ghost", claimedAt: 0)
        #expect(Takeover.decide(me: me, agents: [me], held: [held], now: Self.t0 + 599, policy: policy) == [])
        #expect(Takeover.decide(me: me, agents: [me], held: [held], now: Self.t0 + 600, policy: policy).count == 1)
    }

    @Test("a vast agent's task is never abandoned: its instance would bill on while the task ran again")
    func vastNeverAbandoned() {
        var other = Self.agent("other", scope: "vast:https://console.vast.ai#0123456789ab", leaseEnds: 30)
        other.mode = "vast"
        #expect(Takeover.decide(me: me, agents: [me, other], held: [Self.held(by: "other")], now: Self.t0 + 100_000, policy: policy) == [])
    }

    @Test("the wait runs from the claim when the holder claimed after its lease had run out")
    func waitFromLateClaim() {
        let other = Self.agent("other", scope: "docker:engine-2", leaseEnds: 30)
        let held = Self.held(by: "other", claimedAt: 900)
        #expect(Takeover.decide(me: me, agents: [me, other], held: [held], now: Self.t0 + 1499, policy: policy) == [])
        #expect(Takeover.decide(me: me, agents: [me, other], held: [held], now: Self.t0 + 1500, policy: policy).count == 1)
    }

    @Test("this agent's own tasks are never taken over")
    func ownTasks() {
        var stale = me
        stale.leaseExpiresAt = Self.t0
        #expect(Takeover.decide(me: stale, agents: [stale], held: [Self.held(by: "me")], now: Self.t0 + 5000, policy: policy) == [])
    }
}
