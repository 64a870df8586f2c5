import Foundation

/// Decides what a worker token may do: it is valid while its attempt is the task's current
/// one and has not ended, and until its expiry; it reads its own task and its parents, and
/// writes only its own task's artifacts.
public struct WorkerAuthorization: Sendable {
    /// The task the token belongs to.
    public var task: TaskRecord
    public var attempt: Int

    /// Why a token is refused (the server answers 401 for all of them and logs which).
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case missing
        case malformed
        case unknown
        case expired
        case attemptEnded
        public var description: String {
            switch self {
            case .missing: return "no `Authorization: Ponos <token>` header"
            case .malformed: return "the Authorization header is not `Ponos <token>`"
            case .unknown: return "no such token"
            case .expired: return "the token expired"
            case .attemptEnded: return "the token's attempt has ended"
            }
        }
    }

    /// The authorization carried by an `Authorization` header value, checked against the queue.
    public static func check(header: String?, queue: any TaskQueue, now: Date) async throws -> WorkerAuthorization {
        guard let header, !header.isEmpty else { throw Refusal.missing }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0] == "Ponos" else { throw Refusal.malformed }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw Refusal.malformed }
        guard let grant = try await queue.tokenGrant(hash: WorkerToken.hash(of: token)) else { throw Refusal.unknown }
        guard now < grant.expiresAt else { throw Refusal.expired }
        guard let task = try await queue.task(grant.taskID), try await isLive(task, attempt: grant.attempt, queue: queue) else {
            throw Refusal.attemptEnded
        }
        return WorkerAuthorization(task: task, attempt: grant.attempt)
    }

    /// True while `attempt` is the task's current attempt and has not ended.
    public static func isLive(_ task: TaskRecord, attempt: Int, queue: any TaskQueue) async throws -> Bool {
        guard task.attempt == attempt, task.state == .running || task.state == .stopping else { return false }
        guard let record = try await queue.attempts(of: task.id).last(where: { $0.number == attempt }) else { return false }
        return record.phase != .done
    }

    /// True when the token may read `taskID` and its artifacts: its own task or a parent.
    public func mayRead(_ taskID: UUID) -> Bool {
        taskID == task.id || task.parentIDs.contains(taskID)
    }

    /// True when the token may publish artifacts of `taskID`: only its own task.
    public func mayWrite(_ taskID: UUID) -> Bool {
        taskID == task.id
    }
}
