import ErgonCore
import Foundation

/// Follows a workflow until every task ended: a live table on a terminal, one line per
/// state change otherwise.
struct WorkflowFollower {
    let queue: any TaskQueue
    let workflowID: UUID
    let json: Bool
    var interval: Duration = .milliseconds(250)

    /// Returns true when every task completed.
    func follow() async throws -> Bool {
        let live = !json && isatty(STDOUT_FILENO) == 1
        var last: [UUID: TaskState] = [:]
        var drawnLines = 0
        while true {
            let tasks = try await queue.tasks(TaskFilter(workflowID: workflowID))
            if live {
                let text = TaskTable.render(tasks)
                // Move up over the previous table and redraw it in place.
                if drawnLines > 0 { print("\u{1B}[\(drawnLines)A", terminator: "") }
                for line in text.split(separator: "\n", omittingEmptySubsequences: false) { print("\u{1B}[2K" + line) }
                drawnLines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            } else {
                for task in tasks where last[task.id] != task.state {
                    let from = last[task.id].map { "\($0.rawValue) → " } ?? ""
                    let why = task.reason.map { " (\($0))" } ?? ""
                    if json {
                        try printJSONLine(["event": "state", "task": task.id.uuidString.lowercased(), "slug": task.spec.slug, "state": task.state.rawValue])
                    } else {
                        print("\(Self.clock()) \(task.spec.slug): \(from)\(task.state.rawValue)\(why)")
                    }
                }
            }
            last = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.state) })
            fflush(nil)
            if tasks.allSatisfy({ $0.state.isTerminal }) {
                let completed = tasks.filter { $0.state == .completed }.count
                if !json { print("workflow ended: \(completed) of \(tasks.count) task(s) completed") }
                return completed == tasks.count
            }
            try await Task.sleep(for: interval)
        }
    }

    static func clock() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date())
    }
}

/// Prints one compact JSON object per line.
func printJSONLine(_ object: [String: String]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
