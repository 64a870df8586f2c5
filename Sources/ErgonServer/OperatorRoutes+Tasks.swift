import ErgonCore
import Foundation
import Hummingbird

extension OperatorRoutes {
    /// `GET /api/v1/tasks?workflow=ID&state=S` (`state` may repeat or hold a comma list).
    func listTasks(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = TaskFilter.all
        if let text = query.get("workflow"), !text.isEmpty {
            guard let id = UUID(uuidString: text) else {
                throw APIError.badRequest("workflow: \"\(text)\" is not a workflow id (expected a UUID)")
            }
            filter.workflowID = id
        }
        let stateTexts = query.getAll("state").flatMap { $0.split(separator: ",").map(String.init) }
        if !stateTexts.isEmpty {
            var states = Set<TaskState>()
            for text in stateTexts {
                guard let state = TaskState(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                    let known = TaskState.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.badRequest("state: unknown task state \"\(text)\" (one of \(known))")
                }
                states.insert(state)
            }
            filter.states = states
        }
        return APIJSON.response(try await queue.tasks(filter).map(TaskJSON.init))
    }

    /// `GET /api/v1/tasks/{id}`: the task with its attempts (`tasks show --json`).
    func showTask(_ context: BasicRequestContext) async throws -> Response {
        let task = try await resolvedTask(context)
        let workflow = try await queue.workflow(task.workflowID)
        let attempts = try await queue.attempts(of: task.id)
        return APIJSON.response(TaskDetailView(
            task: TaskJSON(task), workflowName: workflow?.name, command: task.spec.command.map(Self.describe),
            attempts: attempts.map { attempt in
                AttemptJSON(attempt, log: "/api/v1/tasks/\(task.id.uuidString.lowercased())/logs?attempt=\(attempt.number)")
            }))
    }

    func cancelTask(_ context: BasicRequestContext) async throws -> Response {
        let task = try await resolvedTask(context)
        return APIJSON.response(TaskJSON(try await queue.cancel(taskID: task.id, at: dependencies.now())))
    }

    func retryTask(_ context: BasicRequestContext) async throws -> Response {
        let task = try await resolvedTask(context)
        return APIJSON.response(TaskJSON(try await queue.retry(taskID: task.id, at: dependencies.now())))
    }

    /// `GET /api/v1/tasks/{id}/logs?attempt=N&from=OFFSET`: the bytes as text/plain; the
    /// task's latest attempt when `attempt` is absent.
    func logs(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let task = try await resolvedTask(context)
        let query = request.uri.queryParameters
        let attempt: Int
        if let text = query.get("attempt") {
            guard let number = Int(text), number >= 1 else {
                throw APIError.badRequest("attempt: \"\(text)\" is not an attempt number (1 or more)")
            }
            attempt = number
        } else {
            attempt = task.attempt
        }
        var offset: Int64 = 0
        if let text = query.get("from") {
            guard let number = Int64(text), number >= 0 else {
                throw APIError.badRequest("from: \"\(text)\" is not a byte offset (0 or more)")
            }
            offset = number
        }
        let id = task.id.uuidString.lowercased()
        guard attempt >= 1,
            let bytes = try await dependencies.readLog(LogKey(workflowID: task.workflowID, taskID: task.id, attempt: attempt), offset)
        else {
            throw APIError.notFound("task \(id) has no log for attempt \(attempt)")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8", .contentLength: String(bytes.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The task the `{id}` parameter names: a full id or a unique prefix.
    private func resolvedTask(_ context: BasicRequestContext) async throws -> TaskRecord {
        let text = (context.parameters.get("id") ?? "").removingPercentEncoding ?? ""
        let id = try await queue.resolveTaskID(text)
        guard let task = try await queue.task(id) else { throw TaskIDLookup.unknownID(id) }
        return task
    }

    /// A command as a person would type it (as `ergon tasks show` prints it).
    static func describe(_ command: TaskCommand) -> String {
        switch command {
        case .shell(let line): return line
        case .exec(let args): return "[" + args.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}
