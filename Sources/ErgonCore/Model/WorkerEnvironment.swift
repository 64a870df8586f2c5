import Foundation

/// The environment a task's container receives (WORKER_CONTRACT.md), built in one place.
public enum WorkerEnvironment {
    /// The task's own env plus the contract's variables, which win over the task's.
    public static func docker(task: TaskRecord, attempt: Int, parents: [TaskRecord]) -> [String: String] {
        var env = task.spec.env
        let id = task.id.uuidString.lowercased()
        let parentMap = Dictionary(uniqueKeysWithValues: parents.map { ($0.id.uuidString.lowercased(), $0.spec.slug) })
        let parentsJSON = (try? JSONSerialization.data(withJSONObject: parentMap, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        env["PONOS_TASK"] = id
        env["PONOS_DATA"] = "/data"
        env["TASK_PARENTS"] = parentsJSON
        env["ERGON_TASK_ID"] = id
        env["ERGON_TASK_SLUG"] = task.spec.slug
        env["ERGON_WORKFLOW_ID"] = task.workflowID.uuidString.lowercased()
        env["ERGON_ATTEMPT"] = String(attempt)
        return env
    }
}
