import ArgumentParser
import ErgonCore
import Foundation

/// `ergon workflows`: a workflow as one unit, where `ergon tasks` steers its tasks one by one.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows", abstract: "Inspect, cancel and retry whole workflows.",
        subcommands: [List.self, Show.self, Cancel.self, Retry.self])

    /// `ergon workflows list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workflows, oldest first, with their tasks' states.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print a JSON array of workflow objects.")
        var json = false

        func run() async throws {
            let queue = try await options.load().openQueue()
            let summaries = try await mappingQueueErrors { try await WorkflowOperations(queue: queue).summaries() }
            if json {
                try printJSON(summaries.map(WorkflowSummaryJSON.init))
            } else if summaries.isEmpty {
                print("no workflows")
            } else {
                print(WorkflowTable.render(summaries))
            }
        }
    }

    /// `ergon workflows show ID`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one workflow and its tasks.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Workflow id or a unique prefix of it.")
        var id: String
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let queue = try await options.load().openQueue()
            let summary = try await mappingQueueErrors {
                try await WorkflowOperations(queue: queue).summary(try await WorkflowIDResolver(queue: queue).resolve(id))
            }
            var attempts: [AttemptRecord] = []
            for task in summary.tasks { attempts += try await queue.attempts(of: task.id) }
            let cost = CostSummary(attempts, at: Date())
            if json {
                try printJSON(WorkflowDetailJSON(summary, cost: cost.isPriced ? cost.dollars : nil))
            } else {
                WorkflowsCommand.printSummary(summary, cost: cost.isPriced ? cost : nil)
            }
        }
    }

    /// `ergon workflows cancel ID`.
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel every task of a workflow that has not ended; running ones are stopped by their agent.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Workflow id or a unique prefix of it.")
        var id: String

        func run() async throws {
            let queue = try await options.load().openQueue()
            let operations = WorkflowOperations(queue: queue)
            let (changed, summary) = try await mappingQueueErrors {
                let workflowID = try await WorkflowIDResolver(queue: queue).resolve(id)
                let changed = try await operations.cancel(workflowID, at: Date())
                return (changed, try await operations.summary(workflowID))
            }
            if changed.isEmpty {
                print("workflow \(WorkflowsCommand.label(summary.workflow)): its running tasks are already stopping")
            } else {
                print("workflow \(WorkflowsCommand.label(summary.workflow)): asked \(changed.count) task(s) to stop")
                for task in changed {
                    let note = task.state == .stopping ? " (the agent destroys its container)" : ""
                    print("  \(task.spec.slug): \(task.state.rawValue)\(note)")
                }
            }
            print(TaskTable.render(summary.tasks))
        }
    }

    /// `ergon workflows retry ID`.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-run a workflow's failed, error and stopped tasks and what they cancelled; completed tasks stay done.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Workflow id or a unique prefix of it.")
        var id: String

        func run() async throws {
            let queue = try await options.load().openQueue()
            let operations = WorkflowOperations(queue: queue)
            let (retried, summary) = try await mappingQueueErrors {
                let workflowID = try await WorkflowIDResolver(queue: queue).resolve(id)
                let retried = try await operations.retry(workflowID, at: Date())
                return (retried, try await operations.summary(workflowID))
            }
            print("workflow \(WorkflowsCommand.label(summary.workflow)): retried \(retried.count) task(s)")
            for task in retried {
                print("  \(task.spec.slug) \(task.id.uuidString.lowercased()): \(task.state.rawValue)")
            }
            print(TaskTable.render(summary.tasks))
        }
    }

    /// `name (id)`: the name is what people recognise, the id what they can paste.
    static func label(_ workflow: WorkflowRecord) -> String {
        "\(workflow.name) (\(workflow.id.uuidString.lowercased()))"
    }

    /// The text form of `workflows show`: facts, then the task table of `tasks list`.
    static func printSummary(_ summary: WorkflowOperations.Summary, cost: CostSummary? = nil) {
        var lines: [(String, String)] = [
            ("workflow", summary.workflow.id.uuidString.lowercased()), ("name", summary.workflow.name),
            ("state", summary.state.rawValue), ("tasks", WorkflowTable.counts(summary)),
            ("created", TaskTable.time(summary.workflow.createdAt)),
        ]
        if let cost { lines.append(("cost", cost.text)) }
        print(lines.map { $0.0.padding(toLength: 10, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n"))
        if !summary.tasks.isEmpty { print("\n" + TaskTable.render(summary.tasks)) }
    }
}

/// Reads the workflow id a user typed the way task ids are read: a full UUID in any case, or
/// a unique prefix of its lowercase form with at least 4 hex digits. Workflows are few, so
/// matching over the whole list is enough.
struct WorkflowIDResolver {
    let queue: any TaskQueue

    func resolve(_ text: String) async throws -> UUID {
        let query = try Self.query(text)
        let workflows = try await queue.workflows()
        switch query {
        case .id(let id):
            guard workflows.contains(where: { $0.id == id }) else {
                throw UserError("no workflow with id \(id.uuidString.lowercased())")
            }
            return id
        case .prefix(let prefix):
            let matches = workflows.filter { $0.id.uuidString.lowercased().hasPrefix(prefix) }
            switch matches.count {
            case 0:
                throw UserError("no workflow has an id starting with \"\(text)\"")
            case 1:
                return matches[0].id
            default:
                let listed = matches.prefix(5).map(WorkflowsCommand.label)
                throw UserError(
                    "workflow id \"\(text)\" matches several workflows: \(listed.joined(separator: ", ")); give more characters")
            }
        }
    }

    /// What the text asks for, or a user error saying what is wrong with it.
    static func query(_ text: String) throws -> TaskIDLookup.Query {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let id = UUID(uuidString: trimmed) { return .id(id) }
        let prefix = trimmed.lowercased()
        guard !prefix.isEmpty, prefix.count <= 36, prefix.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw UserError("\"\(text)\" is not a workflow id (expected a UUID or the start of one)")
        }
        guard prefix.filter(\.isHexDigit).count >= TaskIDLookup.minimumPrefixDigits else {
            throw UserError(
                "workflow id \"\(text)\" is too short: give at least \(TaskIDLookup.minimumPrefixDigits) characters of the id")
        }
        return .prefix(prefix)
    }
}
