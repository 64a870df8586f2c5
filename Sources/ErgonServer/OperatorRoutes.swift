import ErgonCore
import Foundation
import Hummingbird
import Logging

/// The operator's task API: submit, list, show, cancel and retry workflows and tasks, read
/// logs. Same shapes as the CLI's `--json`; every route sits behind ``OperatorGate``.
struct OperatorRoutes: Sendable {
    let dependencies: ServerDependencies
    let operatorToken: ErgonConfig.Secret?

    /// The largest workflow document read.
    static let maximumWorkflowBody = 4 * 1024 * 1024

    var queue: any TaskQueue { dependencies.queue }
    var workflows: WorkflowOperations { WorkflowOperations(queue: dependencies.queue) }

    func add(to router: Router<BasicRequestContext>) {
        let gate = OperatorGate<BasicRequestContext>(token: operatorToken, logger: dependencies.logger)
        let workflowGroup = router.group("/api/v1/workflows").add(middleware: gate)
        workflowGroup.post { request, context in try await submit(request, context) }
        workflowGroup.get { _, _ in try await listWorkflows() }
        workflowGroup.get("{id}") { _, context in try await showWorkflow(context) }
        workflowGroup.post("{id}/cancel") { _, context in try await cancelWorkflow(context) }
        workflowGroup.post("{id}/retry") { _, context in try await retryWorkflow(context) }

        let taskGroup = router.group("/api/v1/tasks").add(middleware: gate)
        taskGroup.get { request, _ in try await listTasks(request) }
        taskGroup.get("{id}") { _, context in try await showTask(context) }
        taskGroup.post("{id}/cancel") { _, context in try await cancelTask(context) }
        taskGroup.post("{id}/retry") { _, context in try await retryTask(context) }
        taskGroup.get("{id}/logs") { request, context in try await logs(request, context) }
    }

    // MARK: workflows

    /// `POST /api/v1/workflows`: a workflow document in the `ergon submit` format, JSON or
    /// YAML; `?file=NAME` names it in messages (and names a Nosana job's workflow).
    func submit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumWorkflowBody)
        guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
            throw APIError.badRequest("the workflow document is not UTF-8 text")
        }
        let fileName = request.uri.queryParameters.get("file").flatMap { $0.isEmpty ? nil : $0 } ?? "workflow"
        let spec: WorkflowSpec
        do {
            spec = try WorkflowLoader.parse(text: text, fileName: fileName)
        } catch {
            throw APIError.badRequest(error.description)
        }
        let review = await dependencies.reviewSubmission(spec)
        // A client gone while its images were read is not left with a workflow it never saw queued.
        try Task.checkCancellation()
        for warning in review.warnings {
            dependencies.logger.warning("\(fileName): \(warning)")
        }
        guard review.problems.isEmpty else {
            throw APIError.badRequest(review.problems.map { "\(fileName): \($0)" }.joined(separator: "\n"))
        }
        let (workflow, tasks) = try await queue.submit(
            spec, defaultMaxAttempts: dependencies.defaultMaxAttempts, at: dependencies.now())
        dependencies.logger.info(
            "workflow submitted through the task API",
            metadata: ["workflow": "\(workflow.id.uuidString.lowercased())", "tasks": "\(tasks.count)"])
        return APIJSON.response(WorkflowTasksView(workflow: WorkflowView(workflow), tasks: tasks.map(TaskJSON.init)), status: .created)
    }

    func listWorkflows() async throws -> Response {
        APIJSON.response(try await workflows.summaries().map(WorkflowView.init))
    }

    func showWorkflow(_ context: BasicRequestContext) async throws -> Response {
        let summary = try await workflows.summary(try workflowID(context))
        return APIJSON.response(WorkflowTasksView(workflow: WorkflowView(summary), tasks: summary.tasks.map(TaskJSON.init)))
    }

    /// Answers the workflow as it is after the cancel (the tasks it stopped included).
    func cancelWorkflow(_ context: BasicRequestContext) async throws -> Response {
        let id = try workflowID(context)
        _ = try await workflows.cancel(id, at: dependencies.now())
        return try await showWorkflow(context)
    }

    func retryWorkflow(_ context: BasicRequestContext) async throws -> Response {
        let id = try workflowID(context)
        _ = try await workflows.retry(id, at: dependencies.now())
        return try await showWorkflow(context)
    }

    private func workflowID(_ context: BasicRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw APIError.notFound("\"\(text)\" is not a workflow id (expected a UUID)")
        }
        return id
    }
}
