import ErgonCore
import Foundation

/// Prints a value as pretty JSON with snake_case keys and ISO 8601 dates.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A workflow as `--json` prints it.
struct WorkflowJSON: Encodable {
    let id: String
    let name: String
    let createdAt: Date
    init(_ workflow: WorkflowRecord) {
        id = workflow.id.uuidString.lowercased()
        name = workflow.name
        createdAt = workflow.createdAt
    }
}

/// Plain-text tables for terminals.
enum TaskTable {
    /// Columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The task table of `tasks list` and `submit`.
    static func render(_ tasks: [TaskRecord]) -> String {
        table(
            ["ID", "SLUG", "STATE", "ATTEMPT", "EXIT", "REASON"],
            tasks.map { task in
                [
                    String(task.id.uuidString.lowercased().prefix(8)), task.spec.slug, task.state.rawValue,
                    "\(task.attempt)/\(task.attemptBase + task.maxAttempts)", task.exitCode.map(String.init) ?? "-",
                    task.reason ?? "",
                ]
            })
    }

    /// A command as a person would type it.
    static func describe(_ command: TaskCommand) -> String {
        switch command {
        case .shell(let line): return line
        case .exec(let args): return "[" + args.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}

/// An artifact as `tasks artifacts --json` prints it.
struct ArtifactJSON: Encodable {
    let name: String
    let size: Int64
    let contentType: String
    let createdAt: Date
    let updatedAt: Date

    init(_ artifact: Artifact) {
        name = artifact.name.value
        size = artifact.size
        contentType = artifact.contentType
        createdAt = artifact.created
        updatedAt = artifact.updated
    }
}

/// The artifact table of `tasks artifacts`.
enum ArtifactTable {
    static func render(_ artifacts: [Artifact]) -> String {
        TaskTable.table(
            ["NAME", "SIZE", "TYPE", "UPDATED"],
            artifacts.map { [$0.name.value, ByteSizeParser.format($0.size), $0.contentType, TaskTable.time($0.updated)] })
    }
}

/// A workflow with what its tasks add up to, as `workflows list --json` prints it.
/// Every task state has a count, zero included, so scripts need not guess missing keys.
struct WorkflowSummaryJSON: Encodable {
    let id: String
    let name: String
    let state: String
    let taskCount: Int
    let counts: [String: Int]
    let createdAt: Date

    init(_ summary: WorkflowOperations.Summary) {
        id = summary.workflow.id.uuidString.lowercased()
        name = summary.workflow.name
        state = summary.state.rawValue
        taskCount = summary.tasks.count
        counts = Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0.rawValue, summary.counts[$0] ?? 0) })
        createdAt = summary.workflow.createdAt
    }
}

/// `workflows show --json` output: the workflow and its tasks as `tasks list --json` prints them.
struct WorkflowDetailJSON: Encodable {
    let workflow: WorkflowSummaryJSON
    let tasks: [TaskJSON]
    /// Dollars its tasks' instances cost (so far).
    let cost: Double?

    init(_ summary: WorkflowOperations.Summary, cost: Double? = nil) {
        workflow = WorkflowSummaryJSON(summary)
        tasks = summary.tasks.map(TaskJSON.init)
        self.cost = cost
    }
}

/// The workflow table of `workflows list`.
enum WorkflowTable {
    static func render(_ summaries: [WorkflowOperations.Summary]) -> String {
        TaskTable.table(
            ["ID", "NAME", "STATE", "TASKS", "CREATED"],
            summaries.map { summary in
                [
                    String(summary.workflow.id.uuidString.lowercased().prefix(8)), summary.workflow.name,
                    summary.state.rawValue, counts(summary), TaskTable.time(summary.workflow.createdAt),
                ]
            })
    }

    /// `4: 2 completed, 1 failed, 1 cancelled`: the total, then the states present in lifecycle order.
    static func counts(_ summary: WorkflowOperations.Summary) -> String {
        let parts = TaskState.allCases.compactMap { state in summary.counts[state].map { "\($0) \(state.rawValue)" } }
        return "\(summary.tasks.count)" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }
}

extension TaskTable {
    /// A moment in local time, to the second, as the tables show it.
    static func time(_ date: Date) -> String {
        ISO8601DateFormatter.string(from: date, timeZone: .current, formatOptions: [.withInternetDateTime])
    }
}
