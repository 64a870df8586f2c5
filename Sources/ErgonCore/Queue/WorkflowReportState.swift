import Foundation

/// Where the report of a workflow's end stands (`notify.webhook_url`): who is sending it and
/// until when, and whether it was sent. The rules every engine applies, in one place.
public struct WorkflowReportState: Equatable, Sendable {
    /// The agent whose claim covers sending the report.
    public var claimedBy: String?
    /// Until when that claim holds.
    public var claimedUntil: Date?
    /// When the report was delivered.
    public var notifiedAt: Date?

    public init(claimedBy: String? = nil, claimedUntil: Date? = nil, notifiedAt: Date? = nil) {
        self.claimedBy = claimedBy
        self.claimedUntil = claimedUntil
        self.notifiedAt = notifiedAt
    }

    /// True when the report is still to send and `agentID` may claim it at `now`: nobody's
    /// claim holds, or it is that agent's own (nil: any agent's claim blocks).
    public func isOpen(for agentID: String?, at now: Date) -> Bool {
        guard notifiedAt == nil else { return false }
        guard let claimedUntil, claimedUntil > now else { return true }
        return agentID != nil && claimedBy == agentID
    }

    /// True when the workflow has tasks, all ended, and the last of them changed before `cutoff`.
    public static func ended(_ tasks: [TaskRecord], before cutoff: Date) -> Bool {
        !tasks.isEmpty && tasks.allSatisfy(\.state.isTerminal) && tasks.allSatisfy { $0.updatedAt < cutoff }
    }

    /// True when an agent with a webhook would still send the workflow's report: it is not
    /// delivered, and a task of it changed within `lookback` of `now` (the notifier's own
    /// window; an older end is never reported). `ergon gc` keeps such a workflow.
    public static func reportPending(
        _ workflow: WorkflowRecord, tasks: [TaskRecord], lookback: TimeInterval, at now: Date
    ) -> Bool {
        let since = now.addingTimeInterval(-lookback)
        return workflow.notifiedAt == nil && tasks.contains { $0.updatedAt >= since }
    }

    /// True when `ergon gc` may remove the workflow: its tasks all ended before `cutoff`, and
    /// the backend removed its volumes (a workflow whose rows went first would leave them behind).
    public static func removable(_ workflow: WorkflowRecord, tasks: [TaskRecord], before cutoff: Date) -> Bool {
        (workflow.volumes.isEmpty || workflow.cleanedUp) && ended(tasks, before: cutoff)
    }
}
