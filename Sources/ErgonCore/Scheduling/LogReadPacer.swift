import Foundation

/// When running tasks' logs are read, for a backend whose reads are remote calls (vast).
///
/// Each task's log is read at most once per `minimumInterval` (`logs.flush_interval` less a
/// poll interval), and every read together at most `ratePerSecond` (`vast_api.log_reads_per_second`):
/// a task's own interval stretches to `running / ratePerSecond` so that each running task gets
/// its turn, and a bucket of `burst` reads, refilled at the rate, keeps the tasks that all
/// became due at once (an agent's start, a fleet started together) from going out together.
/// With a thousand running instances, a read per task per flush interval was thousands of calls
/// a tick: more than an account's rate limit and most of the agent's CPU. A read spaced out
/// this way takes a longer stretch of the log; the backend reads a longer tail when the
/// stretch outgrew the usual one, so spacing costs latency, not lines.
struct LogReadPacer {
    /// Reads per second across all tasks; nil: only `minimumInterval` paces them.
    let ratePerSecond: Double?
    let minimumInterval: TimeInterval
    let burst: Double
    private var tokens: Double
    private var refilledAt: Date?
    private var lastRead: [UUID: Date] = [:]

    init(ratePerSecond: Double?, minimumInterval: TimeInterval, burst: Double) {
        self.ratePerSecond = ratePerSecond.map { max($0, 0.001) }
        self.minimumInterval = max(0, minimumInterval)
        self.burst = max(1, burst)
        self.tokens = self.burst
    }

    /// The interval between two reads of one task's log while `running` tasks share the rate.
    func interval(running: Int) -> TimeInterval {
        guard let rate = ratePerSecond else { return minimumInterval }
        return max(minimumInterval, Double(max(running, 1)) / rate)
    }

    /// True when `taskID`'s own interval since its last read has passed (the rate aside): a
    /// read may be due. Takes nothing from the rate.
    func intervalPassed(_ taskID: UUID, running: Int, now: Date) -> Bool {
        guard let last = lastRead[taskID] else { return true }
        return now.timeIntervalSince(last) >= interval(running: running)
    }

    /// True when `taskID`'s log may be read now, with `running` tasks reading; a true answer
    /// takes the read from the rate (call ``read(_:at:)`` once it is done). A task never read
    /// is due at once, subject to the rate.
    mutating func mayRead(_ taskID: UUID, running: Int, now: Date) -> Bool {
        guard intervalPassed(taskID, running: running, now: now) else { return false }
        guard let rate = ratePerSecond else { return true }
        if let refilledAt {
            tokens = min(burst, tokens + max(0, now.timeIntervalSince(refilledAt)) * rate)
        }
        refilledAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Records a read of `taskID`'s log.
    mutating func read(_ taskID: UUID, at now: Date) {
        lastRead[taskID] = now
    }

    /// Charges `reads` made on top of a paced one (longer tails, final reads) to the rate: the
    /// bucket may go below zero, and later reads wait it out.
    mutating func charge(_ reads: Int) {
        if ratePerSecond != nil { tokens -= Double(max(0, reads)) }
    }

    /// Forgets a task whose attempt ended.
    mutating func forget(_ taskID: UUID) {
        lastRead[taskID] = nil
    }

    /// Forgets every task but `held` (tasks taken over by another agent, or released).
    mutating func keepOnly(_ held: Set<UUID>) {
        if lastRead.keys.contains(where: { !held.contains($0) }) { lastRead = lastRead.filter { held.contains($0.key) } }
    }
}
