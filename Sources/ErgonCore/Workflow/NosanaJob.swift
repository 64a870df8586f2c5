import Foundation

/// Turns a Nosana job definition into a workflow: one task per `container/run` op, each
/// depending on the run op before it, with `global` defaults merged in; each
/// `container/create-volume` op declares a workflow volume.
public enum NosanaJob {
    /// Top-level keys. `meta` (trigger, system requirements) is Nosana's market metadata:
    /// Ergon schedules by its own config, so `meta` is accepted and not read.
    static let jobKeys = ["version", "type", "meta", "global", "ops"]
    static let globalKeys = ["image", "gpu", "entrypoint", "env", "work_dir"]
    static let opKeys = ["type", "id", "args"]
    static let runArgs = ["cmd", "image", "env", "gpu", "entrypoint", "work_dir", "volumes"]
    static let volumeArgs = ["name"]
    static let opTypes = ["container/run", "container/create-volume"]

    /// Documented Nosana keys Ergon cannot honour. They are refused rather than ignored, so
    /// a job never runs differently from what its author expects.
    static let unsupportedOpKeys = [
        "results": "is not supported by Ergon (it keeps each task's whole log instead; remove it)",
        "execution": "is not supported by Ergon (each op runs after the op before it; remove it)",
    ]
    static let unsupportedRunArgs = [
        "expose": "is not supported by Ergon (task ports are not published; remove it)",
        "private": "is not supported by Ergon (task ports are not published; remove it)",
        "resources": "is not supported for Nosana jobs (write the workflow in Ergon's format, whose tasks take resources)",
        "required_vram": "is not supported by Ergon (choose GPUs through the agent's docker.gpus; remove it)",
        "output": "is not supported by Ergon (a task's outputs go in /data/current; remove it)",
        "authentication": "is not supported in a job (registry credentials belong in the agent's config, docker.registries)",
        "aliases": "is not supported by Ergon (remove it)",
    ]

    /// True when the document is a Nosana job: `"type": "container"` and an `ops` list.
    static func isNosanaJob(_ root: DocumentNode) -> Bool {
        guard let mapping = root.node.mapping else { return false }
        return mapping["type"]?.scalar?.string == "container" && mapping["ops"] != nil
    }

    /// The command a Nosana `cmd` array stands for. An array whose first element holds a
    /// space is one command line split into pieces: its elements are joined with spaces and
    /// run through a shell. When that first element is only a shell invocation (`"sh -c "`),
    /// the rest is the script and that shell runs it; joining the invocation in and running
    /// the line through a second shell would hand the inner `sh -c` only the script's first
    /// word. Any other array is exec form.
    public static func command(fromArray elements: [String]) -> TaskCommand {
        guard let first = elements.first, first.contains(" ") else { return .exec(elements) }
        let words = first.split(separator: " ")
        if words.count == 2, isShell(words[0]), isCommandFlag(words[1]) {
            let script = elements.dropFirst().joined(separator: " ").trimmingCharacters(in: .whitespaces)
            if script.isEmpty || (words[1] == "-c" && (words[0] == "sh" || words[0] == "/bin/sh")) {
                return .shell(script)
            }
            return .exec([String(words[0]), String(words[1]), script])
        }
        return .shell(elements.joined(separator: " ").trimmingCharacters(in: .whitespaces))
    }

    private static func isShell(_ word: Substring) -> Bool {
        ["sh", "bash", "dash", "ash", "zsh"].contains(word.split(separator: "/").last ?? "")
    }

    /// `-c`, or combined flags ending in `c` such as `-lc` or `-ec`.
    private static func isCommandFlag(_ word: Substring) -> Bool {
        word.count >= 2 && word.first == "-" && word.last == "c" && word.dropFirst().allSatisfy { $0.isASCII && $0.isLetter }
    }

    /// The `global` defaults a run op falls back on.
    private struct Defaults {
        var image: String?
        var gpu: Bool?
        var entrypoint: [String]?
        var env: [String: String] = [:]
        var workDir: String?
    }

    static func workflow(from root: DocumentNode, name: String, file: String) throws(WorkflowError) -> WorkflowSpec {
        let opNodes: [DocumentNode]
        let defaults: Defaults
        do throws(DocumentNode.Fault) {
            let fields = try root.fields(allowed: jobKeys)
            defaults = try fields["global"].map { node throws(DocumentNode.Fault) in try readDefaults(node) } ?? Defaults()
            let opsNode = try fields.required("ops", "a Nosana job lists its operations under ops")
            opNodes = try opsNode.list()
            guard !opNodes.isEmpty else { throw opsNode.fault(.invalidValue, "is empty (a job needs at least one container/run op)") }
        } catch {
            throw WorkflowError(error, file: file)
        }
        // Volumes first: a run op may mount a volume whichever op creates it.
        var volumes: [String] = []
        var runOps: [(index: Int, node: DocumentNode)] = []
        for (index, opNode) in opNodes.enumerated() {
            let op = opNode.detached
            let location = "ops[\(index)]"
            do throws(DocumentNode.Fault) {
                let fields = try op.fields(allowed: opKeys, unavailable: unsupportedOpKeys)
                let typeNode = try fields.required("type", "container/run or container/create-volume")
                let type = try typeNode.nonEmptyString("an op type")
                switch type {
                case "container/run":
                    runOps.append((index, opNode))
                case "container/create-volume":
                    let volume = try readVolumeOp(fields)
                    guard !volumes.contains(volume.name) else {
                        throw volume.node.fault(.invalidValue, "volume \(volume.node.shown) is created twice")
                    }
                    volumes.append(volume.name)
                default:
                    throw typeNode.fault(.notAvailable, "unsupported op type \(typeNode.shown)" + KeySuggestion.hint(for: type, among: opTypes))
                }
            } catch {
                throw WorkflowError(error, file: file, location: location)
            }
        }
        guard !runOps.isEmpty else {
            throw WorkflowError(kind: .invalidValue, file: file, keyPath: "ops", problem: "has no container/run op (nothing would run)")
        }
        var tasks: [TaskSpec] = []
        for (index, opNode) in runOps {
            var task = try readRunOp(opNode.detached, index: index, defaults: defaults, volumes: volumes, file: file)
            if let previous = tasks.last { task.parents = [previous.slug] }
            tasks.append(task)
        }
        return WorkflowSpec(name: name, tasks: tasks, volumes: volumes)
    }

    private static func readDefaults(_ node: DocumentNode) throws(DocumentNode.Fault) -> Defaults {
        let fields = try node.fields(allowed: globalKeys)
        var defaults = Defaults()
        defaults.image = try fields["image"].map { node throws(DocumentNode.Fault) in try WorkflowLoader.readImage(node) }
        defaults.gpu = try fields["gpu"]?.bool()
        defaults.entrypoint = try fields["entrypoint"].map { node throws(DocumentNode.Fault) in try WorkflowLoader.readEntrypoint(node) }
        defaults.env = try fields["env"].map { node throws(DocumentNode.Fault) in try WorkflowLoader.readEnv(node) } ?? [:]
        defaults.workDir = try fields["work_dir"].map { node throws(DocumentNode.Fault) in
            try WorkflowLoader.readAbsolutePath(node, "the working directory")
        }
        return defaults
    }

    /// The volume a create-volume op declares: `args.name`, as Nosana's current schema
    /// writes it, else the op's `id`, as older job definitions do.
    private static func readVolumeOp(_ fields: DocumentNode.Fields) throws(DocumentNode.Fault) -> (name: String, node: DocumentNode) {
        if let args = fields["args"], let nameNode = try args.fields(allowed: volumeArgs)["name"] {
            let name = try nameNode.nonEmptyString("a volume name")
            try WorkflowLoader.checkVolumeName(name, at: nameNode)
            return (name, nameNode)
        }
        let idNode = try fields.required("id", "the volume's name (or set args.name)")
        let name = try idNode.nonEmptyString("a volume name")
        try WorkflowLoader.checkVolumeName(name, at: idNode)
        return (name, idNode)
    }

    private static func readRunOp(
        _ op: DocumentNode, index: Int, defaults: Defaults, volumes: [String], file: String
    ) throws(WorkflowError) -> TaskSpec {
        // Errors name the task by its id whenever it has a usable one.
        var slug = (op.node.mapping?["id"]?.scalar?.string).flatMap { WorkflowLoader.isValidSlug($0) ? $0 : nil }
        do throws(DocumentNode.Fault) {
            let fields = try op.fields(allowed: opKeys, unavailable: unsupportedOpKeys)
            let idNode = try fields.required("id", "every op needs an id; it becomes the task's slug")
            let id = try idNode.string()
            guard WorkflowLoader.isValidSlug(id) else {
                throw idNode.fault(.invalidValue, "invalid id \(idNode.shown) (\(WorkflowLoader.slugRule))")
            }
            slug = id
            // Without args, an op runs global.image with its own command.
            let args = try fields["args"].map { node throws(DocumentNode.Fault) in
                try node.fields(allowed: runArgs, unavailable: unsupportedRunArgs)
            } ?? DocumentNode.Fields(owner: op, entries: [])
            let image: String
            if let imageNode = args["image"] {
                image = try WorkflowLoader.readImage(imageNode)
            } else if let global = defaults.image {
                image = global
            } else {
                throw DocumentNode.Fault(kind: .missing, path: "args.image",
                                         problem: "missing (set args.image, or global.image for every op)", line: op.line)
            }
            var task = TaskSpec(slug: id, image: image)
            task.command = try args.written("cmd").map { node throws(DocumentNode.Fault) in try readCmd(node) }
            task.entrypoint = try args["entrypoint"].map { node throws(DocumentNode.Fault) in try WorkflowLoader.readEntrypoint(node) }
                ?? defaults.entrypoint
            let ownEnv = try args["env"].map { node throws(DocumentNode.Fault) in try WorkflowLoader.readEnv(node) } ?? [:]
            task.env = defaults.env.merging(ownEnv) { _, own in own }
            task.workDir = try args["work_dir"].map { node throws(DocumentNode.Fault) in
                try WorkflowLoader.readAbsolutePath(node, "the working directory")
            } ?? defaults.workDir
            task.gpu = try args["gpu"]?.bool() ?? defaults.gpu ?? false
            task.volumes = try args["volumes"].map { node throws(DocumentNode.Fault) in
                try WorkflowLoader.readVolumeMounts(node, declared: volumes, declaredWhere: "a container/create-volume op")
            } ?? []
            return task
        } catch {
            throw WorkflowError(error, file: file, task: slug, location: slug.map { "task \"\($0)\"" } ?? "ops[\(index)]")
        }
    }

    /// A string runs through a shell; an array follows `command(fromArray:)`.
    private static func readCmd(_ node: DocumentNode) throws(DocumentNode.Fault) -> TaskCommand {
        let empty = "is empty (leave cmd out to run the image's own command)"
        if node.isNull { throw node.fault(.invalidValue, empty) }
        let command: TaskCommand
        if node.isList {
            command = Self.command(fromArray: try node.list().map { item throws(DocumentNode.Fault) in try item.string() })
        } else if node.isMapping {
            throw node.fault(.wrongType, "expected a string or a list of strings, got \(node.shown)")
        } else {
            command = .shell(try node.string())
        }
        guard !command.isEmpty else { throw node.fault(.invalidValue, empty) }
        return command
    }
}
