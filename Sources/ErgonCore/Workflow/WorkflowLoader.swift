import Foundation

/// Reads a workflow file, in Ergon's own YAML/JSON format or as a Nosana job definition,
/// and checks everything a submit needs: fields, types, slugs, parents, volumes, resources.
public enum WorkflowLoader {
    /// The keys a workflow may hold at the top level.
    public static let workflowKeys = ["name", "tasks", "volumes"]
    /// The keys a task may hold.
    public static let taskKeys = [
        "slug", "image", "command", "entrypoint", "env", "work_dir", "gpu", "parents", "timeout", "max_attempts",
        "priority", "volumes", "resources", "cache", "vast",
    ]

    /// Reads and validates the workflow file at `path`.
    public static func load(path: String) throws(WorkflowError) -> WorkflowSpec {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw WorkflowError(kind: .noSuchFile, file: path, problem: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw WorkflowError(kind: .unreadable, file: path, problem: "is a directory, not a workflow file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkflowError(kind: .unreadable, file: path, problem: "cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WorkflowError(kind: .unreadable, file: path, problem: "is not UTF-8 text")
        }
        return try parse(text: text, fileName: path)
    }

    /// Validates workflow text as if read from `fileName`, which messages name and which
    /// gives a Nosana job its workflow name (the base name without extension).
    public static func parse(text: String, fileName: String) throws(WorkflowError) -> WorkflowSpec {
        let root: DocumentNode
        do {
            guard let document = try DocumentNode.parse(text, environment: nil), !document.isNull else {
                throw WorkflowError(kind: .invalidValue, file: fileName,
                                    problem: "is empty (expected a workflow with name and tasks, or a Nosana job)")
            }
            root = document
        } catch let error as WorkflowError {
            throw error
        } catch let fault as DocumentNode.Fault {
            throw WorkflowError(fault, file: fileName)
        } catch {
            throw WorkflowError(kind: .syntax, file: fileName, problem: "\(error)")
        }
        guard root.isMapping else {
            throw WorkflowError(kind: .wrongType, file: fileName, line: root.line,
                                problem: "expected a mapping with name and tasks (or a Nosana job), got \(root.shown)")
        }
        let spec = NosanaJob.isNosanaJob(root)
            ? try NosanaJob.workflow(from: root, name: workflowName(fromFile: fileName), file: fileName)
            : try ergonWorkflow(from: root, file: fileName)
        try checkGraph(spec, file: fileName, root: root)
        return spec
    }

    /// The file's base name without its extension (`jobs/nosana-job.json` → `nosana-job`).
    public static func workflowName(fromFile fileName: String) -> String {
        let base = URL(fileURLWithPath: fileName).deletingPathExtension().lastPathComponent
        return base.isEmpty ? fileName : base
    }

    private static func ergonWorkflow(from root: DocumentNode, file: String) throws(WorkflowError) -> WorkflowSpec {
        let fields: DocumentNode.Fields
        let name: String
        let volumes: [String]
        let taskNodes: [DocumentNode]
        do throws(DocumentNode.Fault) {
            for (keyNode, _) in root.node.mapping ?? [:] where ["ops", "type"].contains(keyNode.scalar?.string ?? "") {
                throw DocumentNode.Fault(
                    kind: .unknownKey, path: keyNode.scalar?.string ?? "",
                    problem: "unknown key (a Nosana job needs \"type\": \"container\" and an ops list; an Ergon workflow has name and tasks)",
                    line: keyNode.mark?.line)
            }
            fields = try root.fields(allowed: workflowKeys)
            name = try fields.required("name", "every workflow needs a name").nonEmptyString("a workflow name")
            volumes = try fields["volumes"].map { node throws(DocumentNode.Fault) in try readVolumeNames(node) } ?? []
            let tasksNode = try fields.required("tasks", "a workflow lists its tasks under tasks")
            taskNodes = try tasksNode.list()
            guard !taskNodes.isEmpty else { throw tasksNode.fault(.invalidValue, "is empty (a workflow needs at least one task)") }
        } catch {
            throw WorkflowError(error, file: file)
        }
        var tasks: [TaskSpec] = []
        for (index, node) in taskNodes.enumerated() {
            tasks.append(try readTask(node, index: index, volumes: volumes, file: file))
        }
        return WorkflowSpec(name: name, tasks: tasks, volumes: volumes)
    }

    private static func readTask(_ node: DocumentNode, index: Int, volumes: [String], file: String) throws(WorkflowError) -> TaskSpec {
        let task = node.detached
        // Errors name the task by its slug whenever it has a usable one, so look for it first
        // (a slug that only comes through a merge key is known once the fields are read).
        var slug = (task.node.mapping?["slug"]?.scalar?.string).flatMap { isValidSlug($0) ? $0 : nil }
        do throws(DocumentNode.Fault) {
            guard task.isMapping else { throw task.fault(.wrongType, "expected a task mapping with slug and image, got \(task.shown)") }
            let fields = try task.fields(allowed: taskKeys)
            let slugNode = try fields.required("slug", "every task needs a slug, the name its children list as parents")
            let slugText = try slugNode.string()
            guard isValidSlug(slugText) else {
                throw slugNode.fault(.invalidValue, "invalid slug \(slugNode.shown) (\(slugRule))")
            }
            slug = slugText
            var spec = TaskSpec(slug: slugText, image: try readImage(fields.required("image", "the container image to run")))
            spec.command = try fields.written("command").map { node throws(DocumentNode.Fault) in try readCommand(node) }
            spec.entrypoint = try fields["entrypoint"].map { node throws(DocumentNode.Fault) in try readEntrypoint(node) }
            spec.env = try fields["env"].map { node throws(DocumentNode.Fault) in try readEnv(node) } ?? [:]
            spec.workDir = try fields["work_dir"].map { node throws(DocumentNode.Fault) in try readAbsolutePath(node, "the working directory") }
            spec.gpu = try fields["gpu"]?.bool() ?? false
            spec.parents = try fields["parents"].map { node throws(DocumentNode.Fault) in try readParents(node) } ?? []
            spec.timeoutSeconds = try fields["timeout"].map { node throws(DocumentNode.Fault) in try Self.seconds(node.duration(positive: true)) }
            spec.maxAttempts = try fields["max_attempts"]?.int(atLeast: 1)
            spec.priority = try fields["priority"]?.int() ?? 0
            spec.volumes = try fields["volumes"].map { node throws(DocumentNode.Fault) in
                try readVolumeMounts(node, declared: volumes, declaredWhere: "the workflow's volumes list")
            } ?? []
            spec.resources = try fields["resources"].map { node throws(DocumentNode.Fault) in try readResources(node) } ?? []
            if let node = fields["cache"] { spec.cache = try node.bool() }
            spec.vast = try fields["vast"].map { node throws(DocumentNode.Fault) in try readVastOptions(node) }
            return spec
        } catch {
            throw WorkflowError(error, file: file, task: slug, location: slug.map { "task \"\($0)\"" } ?? "tasks[\(index)]")
        }
    }

    private static func readParents(_ node: DocumentNode) throws(DocumentNode.Fault) -> [String] {
        var parents: [String] = []
        for item in try node.list() {
            let parent = try item.nonEmptyString("a parent's slug")
            guard !parents.contains(parent) else { throw item.fault(.invalidValue, "parent \(item.shown) is listed twice") }
            parents.append(parent)
        }
        return parents
    }

    /// Runs the graph checks and reports their faults against the task at fault.
    private static func checkGraph(_ spec: WorkflowSpec, file: String, root: DocumentNode) throws(WorkflowError) {
        do {
            _ = try WorkflowGraph(spec.tasks)
        } catch let fault as WorkflowGraph.Fault {
            let slugs = spec.tasks.map(\.slug)
            switch fault {
            case .duplicateSlug(let slug):
                throw WorkflowError(kind: .duplicateSlug, file: file, task: slug, location: "task \"\(slug)\"",
                                    problem: "duplicate slug (another task already uses it; slugs must be unique in a workflow)")
            case .unknownParent(let task, let parent):
                let hint = KeySuggestion.closest(to: parent, among: slugs).map { " (did you mean \"\($0)\"?)" }
                    ?? " (no task of this workflow has that slug)"
                throw WorkflowError(kind: .unknownParent, file: file, task: task, location: "task \"\(task)\"", keyPath: "parents",
                                    problem: "unknown parent \"\(parent)\"\(hint)")
            case .selfParent(let task):
                throw WorkflowError(kind: .cycle, file: file, task: task, location: "task \"\(task)\"", keyPath: "parents",
                                    problem: "lists itself as a parent")
            case .cycle(let path):
                let task = path.first ?? ""
                throw WorkflowError(kind: .cycle, file: file, task: task, location: "task \"\(task)\"", keyPath: "parents",
                                    problem: "parents form a cycle: \(path.joined(separator: " → ")) (no task of the cycle could ever start)")
            }
        } catch {
            throw WorkflowError(kind: .invalidValue, file: file, problem: "\(error)")
        }
    }

    /// True for a usable slug: non-empty, only letters, digits, `.`, `_` and `-`, and not a
    /// name the `/data` layout already uses (`.`, `..`, `current`, a task id), since each
    /// parent's slug becomes a link in its children's `/data`.
    public static func isValidSlug(_ slug: String) -> Bool {
        !slug.isEmpty && slug.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && !reservedSlugs.contains(slug) && UUID(uuidString: slug) == nil
    }

    /// Names of the `/data` layout a slug cannot take.
    static let reservedSlugs: Set<String> = [".", "..", "current"]

    /// What a valid slug is, for messages.
    static let slugRule = "use only letters, digits, \".\", \"_\" and \"-\"; not \".\", \"..\", \"current\" or a task id, which /data uses"

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
