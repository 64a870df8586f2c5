import ErgonCore
import Foundation
import Hummingbird
import Logging

/// Decides what a worker request may touch: checks the `Authorization: Ponos <token>` header,
/// then the task asked for against the token's scope. Every refusal is logged with the method,
/// path and reason, never the token (only the path is logged: the header stays out).
struct WorkerGate: Sendable {
    let queue: any TaskQueue
    let logger: Logger
    let now: @Sendable () -> Date

    /// The authorization the request's token carries; a logged 401 otherwise.
    /// True while the task's `attempt` runs (an upload URL is good only then).
    func isLive(_ task: TaskRecord, attempt: Int) async throws -> Bool {
        try await WorkerAuthorization.isLive(task, attempt: attempt, queue: queue)
    }

    func authorize(_ request: Request) async throws -> WorkerAuthorization {
        do {
            return try await WorkerAuthorization.check(header: request.headers[.authorization], queue: queue, now: now())
        } catch let refusal as WorkerAuthorization.Refusal {
            throw refuse(request, APIError.unauthorized(refusal.description, scheme: "Ponos"))
        }
    }

    /// The task `idText` names when the token may read it: its own task or a parent.
    func readableTask(_ idText: String?, _ authorization: WorkerAuthorization, _ request: Request) async throws -> TaskRecord {
        let id = try taskID(idText, request)
        guard authorization.mayRead(id) else {
            throw try await outOfScope(id, authorization, request, action: "read")
        }
        guard let task = try await queue.task(id) else {
            throw refuse(request, .notFound("no task \(id.uuidString.lowercased())"))
        }
        return task
    }

    /// The task `idText` names when the token may publish its artifacts: only its own task.
    func writableTask(_ idText: String?, _ authorization: WorkerAuthorization, _ request: Request) async throws -> TaskRecord {
        let id = try taskID(idText, request)
        guard authorization.mayWrite(id) else {
            throw try await outOfScope(id, authorization, request, action: "publish artifacts of")
        }
        return authorization.task
    }

    /// Logs a refusal and hands it back to be thrown.
    func refuse(_ request: Request, _ error: APIError) -> APIError {
        logger.notice(
            "worker API refused a request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(error.status.code)",
                "reason": "\(error.detail)",
            ])
        return error
    }

    private func taskID(_ text: String?, _ request: Request) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else {
            throw refuse(request, .notFound("\"\(text ?? "")\" is not a task id"))
        }
        return id
    }

    /// 404 for a task that does not exist, 403 for one outside the token's scope.
    private func outOfScope(
        _ id: UUID, _ authorization: WorkerAuthorization, _ request: Request, action: String
    ) async throws -> APIError {
        let own = authorization.task.id.uuidString.lowercased()
        guard try await queue.task(id) != nil else {
            return refuse(request, .notFound("no task \(id.uuidString.lowercased())"))
        }
        return refuse(
            request,
            .forbidden("the token of task \(own) may not \(action) task \(id.uuidString.lowercased()) (only its own task\(action == "read" ? " and its parents" : ""))"))
    }
}
