import Foundation

/// The environment a task's container receives (WORKER_CONTRACT.md), built in one place.
public enum WorkerEnvironment {
    /// The task's own env plus the contract's variables, which win over the task's.
    public static func docker(task: TaskRecord, attempt: Int, parents: [TaskRecord], access: WorkerAccess?) -> [String: String] {
        var env = task.spec.env
        let id = task.id.uuidString.lowercased()
        env["PONOS_TASK"] = id
        env["PONOS_DATA"] = "/data"
        env["TASK_PARENTS"] = parentsJSON(parents)
        env["ERGON_TASK_ID"] = id
        env["ERGON_TASK_SLUG"] = task.spec.slug
        env["ERGON_WORKFLOW_ID"] = task.workflowID.uuidString.lowercased()
        env["ERGON_ATTEMPT"] = String(attempt)
        // Without a worker API, a task's own values (a real Arkindex server) are kept.
        if let access {
            env["ARKINDEX_API_URL"] = access.apiURL
            env["ARKINDEX_TASK_TOKEN"] = access.token.value
        }
        // The model is mounted at its target: the worker finds its files there.
        if let model = task.spec.resources.first(where: \.model) { env["ARKINDEX_MODEL_DIR"] = model.target }
        return env
    }

    /// Vast mode: the worker bootstraps itself, downloading its parents' artifacts, so it is
    /// told to (`TASK_BOOTSTRAP` must be exactly `true`) and which parents it has.
    public static func vast(task: TaskRecord, attempt: Int, parents: [TaskRecord], access: WorkerAccess?) -> [String: String] {
        var env = docker(task: task, attempt: attempt, parents: parents, access: access)
        env["TASK_BOOTSTRAP"] = "true"
        // The worker's bootstrap fetches the model itself through `RetrieveModelVersion`.
        env["ARKINDEX_MODEL_DIR"] = nil
        if access != nil, let index = task.spec.resources.firstIndex(where: \.model) {
            env["ARKINDEX_MODEL_VERSION"] = ModelVersionID(taskID: task.id, index: index).description
            env["ARKINDEX_MODEL_DIR"] = task.spec.resources[index].target
        }
        return env
    }

    /// `TASK_PARENTS`: a JSON object mapping each parent's id to its slug, `{}` when none
    /// (an unset or empty value makes a bootstrapping worker fail).
    public static func parentsJSON(_ parents: [TaskRecord]) -> String {
        let parentMap = Dictionary(parents.map { ($0.id.uuidString.lowercased(), $0.spec.slug) }, uniquingKeysWith: { first, _ in first })
        return (try? JSONSerialization.data(withJSONObject: parentMap, options: [.sortedKeys, .withoutEscapingSlashes]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}
