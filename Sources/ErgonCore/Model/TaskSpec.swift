import Foundation

/// What a task runs: a shell line, or an argument vector (Docker's exec form).
public enum TaskCommand: Codable, Equatable, Sendable {
    /// Run through `/bin/sh -c`.
    case shell(String)
    /// Exec form: the first element is the program.
    case exec([String])

    /// The argument vector handed to the container engine as `Cmd`.
    public var argv: [String] {
        switch self {
        case .shell(let line): return ["/bin/sh", "-c", line]
        case .exec(let args): return args
        }
    }

    /// True when there is nothing to run.
    public var isEmpty: Bool {
        switch self {
        case .shell(let line): return line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        case .exec(let args): return args.isEmpty || args[0].isEmpty
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let line = try? container.decode(String.self) {
            self = .shell(line)
        } else {
            self = .exec(try container.decode([String].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .shell(let line): try container.encode(line)
        case .exec(let args): try container.encode(args)
        }
    }
}

/// A named Docker volume mounted into a task (Nosana's `volumes: [{name, dest}]`).
public struct VolumeMount: Codable, Equatable, Sendable {
    /// The volume's name inside its workflow.
    public var name: String
    /// Where it is mounted in the container.
    public var dest: String
    public init(name: String, dest: String) {
        self.name = name
        self.dest = dest
    }
}

/// A file a task needs before it starts (a model, a data set), fetched by the agent.
public struct TaskResource: Codable, Equatable, Sendable {
    /// `S3`, `HTTP` or `HF`.
    public var type: String
    public var url: String
    /// Where it appears inside the container.
    public var target: String
    /// The expected SHA-256 of the download, hex.
    public var sha256: String?
    /// Unpack a `.tar`, `.tar.gz` or `.tar.zst` archive at `target`.
    public var unpack: Bool
    /// The task's model: in vast mode the worker fetches it itself through `RetrieveModelVersion`
    /// (`ARKINDEX_MODEL_VERSION`, `ARKINDEX_MODEL_DIR`). At most one per task.
    public var model: Bool
    public init(type: String, url: String, target: String, sha256: String? = nil, unpack: Bool = false, model: Bool = false) {
        self.type = type
        self.url = url
        self.target = target
        self.sha256 = sha256
        self.unpack = unpack
        self.model = model
    }

    private enum CodingKeys: String, CodingKey { case type, url, target, sha256, unpack, model }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        url = try container.decode(String.self, forKey: .url)
        target = try container.decode(String.self, forKey: .target)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
        unpack = try container.decodeIfPresent(Bool.self, forKey: .unpack) ?? false
        model = try container.decodeIfPresent(Bool.self, forKey: .model) ?? false  // absent before the cache existed
    }

    /// What the cache fetches and keys for this resource.
    public var source: ResourceSource {
        ResourceSource(kind: ResourceKind(rawValue: type.uppercased()) ?? .http, url: url, sha256: sha256, unpack: unpack)
    }
}

/// Per-task requirements for vast mode.
public struct VastTaskOptions: Codable, Equatable, Sendable {
    /// Offer filter terms ANDed with the agent's `vast_api.offer_filters`.
    public var offerFilters: String?
    /// Disk to rent, in GB.
    public var diskGB: Double?
    /// The acceptance check this task's instances run instead of `vast_api.acceptance_check`;
    /// empty: none, even when the agent has one.
    public var acceptanceCheck: String?
    /// How long the task is expected to run, in seconds: the `effective_cost` ranking's run time.
    public var expectedRuntimeSeconds: Double?
    /// The image's size in bytes, for the `effective_cost` ranking's download estimate.
    public var imageSizeHint: Int64?
    public init(
        offerFilters: String? = nil, diskGB: Double? = nil, acceptanceCheck: String? = nil,
        expectedRuntimeSeconds: Double? = nil, imageSizeHint: Int64? = nil
    ) {
        self.offerFilters = offerFilters
        self.diskGB = diskGB
        self.acceptanceCheck = acceptanceCheck
        self.expectedRuntimeSeconds = expectedRuntimeSeconds
        self.imageSizeHint = imageSizeHint
    }
}

/// One task of a workflow, as submitted.
public struct TaskSpec: Codable, Equatable, Sendable {
    /// Unique name inside its workflow; parents refer to it.
    public var slug: String
    /// The container image.
    public var image: String
    /// The command; nil keeps the image's own.
    public var command: TaskCommand?
    /// Overrides the image's entrypoint; `[]` means none, nil keeps the image's own.
    public var entrypoint: [String]?
    /// Extra environment variables.
    public var env: [String: String]
    /// The working directory inside the container; nil keeps the image's own.
    public var workDir: String?
    /// True when the task needs one GPU.
    public var gpu: Bool
    /// Slugs of the tasks that must complete before this one starts.
    public var parents: [String]
    /// The run deadline in seconds; nil uses `scheduler.default_timeout`.
    public var timeoutSeconds: Double?
    /// How many attempts a system error may use; nil uses the agent's default.
    public var maxAttempts: Int?
    /// Higher runs first; equal priorities run in submission order.
    public var priority: Int
    /// Named workflow volumes to mount (Nosana jobs).
    public var volumes: [VolumeMount]
    /// Files to fetch before the task starts.
    public var resources: [TaskResource]
    /// False (`cache: false`) fetches the resources into the task's own folder instead of the
    /// shared cache; nil means true.
    public var cache: Bool?
    /// Vast-mode requirements.
    public var vast: VastTaskOptions?

    public init(
        slug: String, image: String, command: TaskCommand? = nil, entrypoint: [String]? = nil,
        env: [String: String] = [:], workDir: String? = nil, gpu: Bool = false, parents: [String] = [],
        timeoutSeconds: Double? = nil, maxAttempts: Int? = nil, priority: Int = 0, volumes: [VolumeMount] = [],
        resources: [TaskResource] = [], vast: VastTaskOptions? = nil
    ) {
        self.slug = slug
        self.image = image
        self.command = command
        self.entrypoint = entrypoint
        self.env = env
        self.workDir = workDir
        self.gpu = gpu
        self.parents = parents
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.volumes = volumes
        self.resources = resources
        self.vast = vast
    }
}

/// A workflow as submitted: a name, tasks, and the volumes its tasks share.
public struct WorkflowSpec: Codable, Equatable, Sendable {
    /// A human name; not required to be unique.
    public var name: String
    /// The tasks, in the order the file gives them.
    public var tasks: [TaskSpec]
    /// Named volumes created for this workflow and removed when it ends.
    public var volumes: [String]

    public init(name: String, tasks: [TaskSpec], volumes: [String] = []) {
        self.name = name
        self.tasks = tasks
        self.volumes = volumes
    }
}
