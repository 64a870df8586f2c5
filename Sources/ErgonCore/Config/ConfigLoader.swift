import Foundation

/// Loads the agent's YAML configuration file and validates every key, so a mistake is
/// reported at start with the file, the key path and the fix, never found mid-run.
public enum ConfigLoader {
    /// The keys a config file may hold at the top level.
    public static let topLevelKeys = [
        "agent", "mode", "data_dir", "queue", "logs", "artifacts", "s3", "server", "scheduler", "docker", "vast_api",
        "cache", "budget", "logging", "notify",
    ]

    static let agentKeys = ["id"]
    static let queueKeys = ["url", "lease", "heartbeat_every", "docker_takeover_after"]
    static let logsKeys = ["store", "flush_interval"]
    static let artifactsKeys = ["store"]
    static let schedulerKeys = [
        "max_parallel_tasks", "poll_interval", "default_timeout", "provisioning_timeout", "ordering_grace",
        "default_max_attempts",
    ]

    /// Checks offer filters written in the query language of `vastai search offers`;
    /// returns nil when they are valid, else the problem. The parser lives with the Vast
    /// backend, so whoever loads a config passes it in.
    public typealias OfferFilterCheck = @Sendable (String) -> String?

    /// Reads and validates the config file at `path`; `${VAR}` references are read from
    /// `environment`, and `hostName` gives the default `agent.id`.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        hostName: String = ProcessInfo.processInfo.hostName, checkOfferFilters: OfferFilterCheck? = nil
    ) throws(ConfigError) -> ErgonConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(kind: .noSuchFile, file: path, keyPath: "", problem: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw ConfigError(kind: .unreadable, file: path, keyPath: "", problem: "is a directory, not a config file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(kind: .unreadable, file: path, keyPath: "", problem: "cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(kind: .unreadable, file: path, keyPath: "", problem: "is not UTF-8 text")
        }
        let absolute = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
        let directory = absolute.standardized.deletingLastPathComponent().path
        return try parse(
            text: text, fileName: path, directory: directory, environment: environment, hostName: hostName,
            checkOfferFilters: checkOfferFilters)
    }

    /// Validates config text as if read from the file `fileName` in `directory`: relative
    /// paths resolve against `directory`, and messages name `fileName`.
    public static func parse(
        text: String, fileName: String, directory: String, environment: [String: String],
        hostName: String = ProcessInfo.processInfo.hostName, checkOfferFilters: OfferFilterCheck? = nil
    ) throws(ConfigError) -> ErgonConfig {
        do {
            return try build(
                text: text, fileName: fileName, directory: directory, environment: environment, hostName: hostName,
                checkOfferFilters: checkOfferFilters)
        } catch {
            throw ConfigError(error, file: fileName)
        }
    }

    /// The agent id used when `agent.id` is not set: the host name, lowercased, with every
    /// character outside `[a-z0-9-]` turned into `-`.
    public static func defaultAgentID(hostName: String) -> String {
        var id = ""
        for character in hostName.lowercased() {
            let keep = character.isASCII && (character.isLetter || character.isNumber)
            if keep { id.append(character) } else if !id.isEmpty, id.last != "-" { id.append("-") }
        }
        while id.hasSuffix("-") { id.removeLast() }
        return id.isEmpty ? "ergon" : id
    }

    /// True when `id` can name an agent: non-empty, only letters, digits, `.`, `_` and `-`
    /// (it goes into container labels and Vast labels, where `:` separates fields).
    public static func isValidAgentID(_ id: String) -> Bool {
        !id.isEmpty && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    private static func build(
        text: String, fileName: String, directory: String, environment: [String: String], hostName: String,
        checkOfferFilters: OfferFilterCheck?
    ) throws(DocumentNode.Fault) -> ErgonConfig {
        let paths = ConfigPaths(directory: directory, home: environment["HOME"])
        guard let root = try DocumentNode.parse(text, environment: environment), !root.isNull else {
            return ErgonConfig(source: fileName, agentID: defaultAgentID(hostName: hostName), dataDir: paths.defaultDataDir)
        }
        guard root.isMapping else {
            throw root.fault(.wrongType, "expected a mapping of settings (\(topLevelKeys.joined(separator: ", "))), got \(root.shown)")
        }
        let fields = try root.fields(allowed: topLevelKeys)
        let configuredID = try readAgentID(fields["agent"])
        let agentID = configuredID ?? defaultAgentID(hostName: hostName)
        let mode = try readMode(fields["mode"])
        let dataDir = try fields["data_dir"].map { node throws(DocumentNode.Fault) in try paths.resolve(node) } ?? paths.defaultDataDir
        let (queue, leases) = try readQueueSection(fields["queue"], paths: paths, environment: environment)
        let logStore = try readStore(fields["logs"], keys: logsKeys, what: "log store", paths: paths)
        let artifactStore = try readStore(fields["artifacts"], keys: artifactsKeys, what: "artifact store", paths: paths)
        let flushInterval = try readFlushInterval(fields["logs"])
        let cache = try readCache(fields["cache"], paths: paths)
        let requiredS3 = cache.requiredResources.contains { $0.kind == .s3 }
        let s3 = try readS3(
            fields["s3"], environment: environment,
            requiredBy: logStore?.isS3 == true ? "log store" : artifactStore?.isS3 == true ? "artifact store"
                : requiredS3 ? "resources in cache.required" : nil,
            storeNode: logStore?.isS3 == true ? fields["logs"] : artifactStore?.isS3 == true ? fields["artifacts"] : fields["cache"])
        let server = try readServer(fields["server"], paths: paths)
        let scheduler = try readScheduler(fields["scheduler"])
        let docker = try readDocker(fields["docker"], paths: paths)
        let vast = try readVast(fields["vast_api"], checkOfferFilters: checkOfferFilters)
        if mode == .vast, vast.apiKey == nil {
            throw DocumentNode.Fault(
                kind: .missing, path: "vast_api.api_key",
                problem: "required in vast mode (e.g. api_key: ${VAST_API_KEY}, with the key in the environment)",
                line: (fields["vast_api"] ?? fields["mode"])?.line)
        }
        if mode == .vast, configuredID == nil {
            // Rented instances are found again by the agent id in their label: one taken from a
            // host name that changes would leave them billing, unseen.
            throw DocumentNode.Fault(
                kind: .missing, path: "agent.id",
                problem: "required in vast mode: instances are re-adopted and reaped by the agent id in their label, so it must not change with the host name (e.g. agent: {id: vast-1})",
                line: fields["mode"]?.line)
        }
        let budget = try readBudget(fields["budget"])
        var config = ErgonConfig(
            source: fileName, agentID: agentID, mode: mode, dataDir: dataDir, queue: queue, leases: leases, logStore: logStore,
            artifactStore: artifactStore, logFlushInterval: flushInterval, s3: s3, server: server, scheduler: scheduler,
            docker: docker, vast: vast, cache: cache)
        config.budget = budget
        config.logFormat = try readLogging(fields["logging"])
        config.notify = try readNotify(fields["notify"])
        return config
    }

    private static func readAgentID(_ section: DocumentNode?) throws(DocumentNode.Fault) -> String? {
        guard let section else { return nil }
        guard let node = try section.fields(allowed: agentKeys)["id"] else { return nil }
        let id = try node.nonEmptyString("an agent id such as gpu-box-1")
        guard isValidAgentID(id) else {
            throw node.fault(.invalidValue, "invalid agent id \(node.shown) (use only letters, digits, \".\", \"_\" and \"-\"; it goes into container labels)")
        }
        return id
    }

    private static func readMode(_ node: DocumentNode?) throws(DocumentNode.Fault) -> ErgonConfig.Mode {
        guard let node else { return .docker }
        let value = try node.nonEmptyString("docker")
        switch value {
        case ErgonConfig.Mode.docker.rawValue: return .docker
        case ErgonConfig.Mode.vast.rawValue: return .vast
        default:
            throw node.fault(.invalidValue, "unknown mode \(node.shown)" + KeySuggestion.hint(for: value, among: ["docker", "vast"]))
        }
    }

    /// `queue`: a URL, or a mapping with `url` and the lease settings.
    private static func readQueueSection(
        _ node: DocumentNode?, paths: ConfigPaths, environment: [String: String]
    ) throws(DocumentNode.Fault) -> (ErgonConfig.QueueLocation?, Takeover.Policy) {
        var leases = Takeover.Policy()
        guard let node else { return (nil, leases) }
        guard node.isMapping else { return (try readQueue(node, paths: paths, environment: environment), leases) }
        let fields = try node.fields(allowed: queueKeys)
        let location = try fields["url"].map { url throws(DocumentNode.Fault) in
            try readQueue(url, paths: paths, environment: environment)
        }
        if let lease = fields["lease"] { leases.lease = try lease.duration(positive: true).seconds }
        if let beat = fields["heartbeat_every"] { leases.heartbeatInterval = try beat.duration(positive: true).seconds }
        if let after = fields["docker_takeover_after"] {
            leases.dockerTakeoverAfter = try after.duration(positive: true).seconds
        }
        guard leases.heartbeatInterval * 2 <= leases.lease else {
            throw (fields["heartbeat_every"] ?? fields["lease"] ?? node).fault(
                .invalidValue,
                "queue.heartbeat_every (\(Reconciler.format(leases.heartbeatInterval))) must be at most half of queue.lease (\(Reconciler.format(leases.lease))), so one late heartbeat does not end a lease")
        }
        return (location, leases)
    }

    private static func readQueue(
        _ node: DocumentNode, paths: ConfigPaths, environment: [String: String]
    ) throws(DocumentNode.Fault) -> ErgonConfig.QueueLocation {
        let value = try node.nonEmptyString("sqlite:PATH or postgres://USER@HOST/DATABASE")
        let accepted = "accepted: sqlite:PATH, e.g. sqlite:/var/lib/ergon/queue.sqlite, or postgres://USER@HOST[:PORT]/DATABASE; leave queue out for <data_dir>/queue.sqlite"
        if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            do {
                return .postgres(try PostgresLocation.parse(value, environment: environment))
            } catch {
                // The value may hold a password: the message shows the problem, not the value.
                throw node.fault(.invalidValue, "the PostgreSQL URL \(error.problem)")
            }
        }
        guard value.hasPrefix("sqlite:") else {
            throw node.fault(.invalidValue, "unsupported queue \(node.shown) (\(accepted))")
        }
        var path = value.dropFirst("sqlite:".count)
        if path.hasPrefix("//") { path = path.dropFirst(2) }  // sqlite:///abs/path, as in URLs
        guard !path.isEmpty else { throw node.fault(.invalidValue, "sqlite: needs a file path (\(accepted))") }
        return .sqlite(path: try paths.resolve(String(path), at: node))
    }

    /// Reads the `store` key of `logs` or `artifacts`: `file://DIR` or `s3://BUCKET/PREFIX`.
    private static func readStore(
        _ section: DocumentNode?, keys: [String], what: String, paths: ConfigPaths
    ) throws(DocumentNode.Fault) -> ErgonConfig.LogStoreLocation? {
        guard let section, let node = try section.fields(allowed: keys)["store"] else { return nil }
        let value = try node.nonEmptyString("file://DIR or s3://BUCKET/PREFIX")
        let folder = what == "log store" ? "logs" : "artifacts"
        let accepted = "accepted: file://DIR, e.g. file:///var/lib/ergon/\(folder), or s3://BUCKET/PREFIX with an s3 section; leave it out for <data_dir>/\(folder)"
        if value.hasPrefix("s3://") {
            let rest = value.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            var prefix = String(rest.dropFirst(bucket.count))
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            while prefix.hasSuffix("/") { prefix.removeLast() }
            guard isValidBucketName(bucket) else {
                throw node.fault(.invalidValue, "invalid bucket name \"\(bucket)\" in \(node.shown) (3 to 63 characters: lowercase letters, digits, \".\" and \"-\", starting and ending with a letter or digit)")
            }
            guard prefix.isEmpty || !prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw node.fault(.invalidValue, "the prefix of \(node.shown) has an empty, \".\" or \"..\" segment")
            }
            return .s3(bucket: bucket, prefix: prefix)
        }
        guard value.hasPrefix("file://") else {
            throw node.fault(.invalidValue, "unsupported \(what) \(node.shown) (\(accepted))")
        }
        let directory = value.dropFirst("file://".count)
        guard !directory.isEmpty else { throw node.fault(.invalidValue, "file:// needs a directory (\(accepted))") }
        return .file(directory: try paths.resolve(String(directory), at: node))
    }

    private static func readFlushInterval(_ section: DocumentNode?) throws(DocumentNode.Fault) -> Duration {
        guard let section, let node = try section.fields(allowed: logsKeys)["flush_interval"] else { return .seconds(5) }
        return try node.duration(positive: true)
    }

    /// S3's rules for bucket names (the DNS-compatible ones, which path and virtual-host addressing both accept).
    static func isValidBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last else { return false }
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") }
        let edges = (first.isLowercase || first.isNumber) && (last.isLowercase || last.isNumber)
        return allowed && edges && !name.contains("..")
    }

    private static func readScheduler(_ section: DocumentNode?) throws(DocumentNode.Fault) -> ErgonConfig.Scheduler {
        var scheduler = ErgonConfig.Scheduler()
        guard let section else { return scheduler }
        let fields = try section.fields(allowed: schedulerKeys)
        if let node = fields["max_parallel_tasks"] { scheduler.maxParallelTasks = try node.int(atLeast: 1) }
        if let node = fields["poll_interval"] { scheduler.pollInterval = try node.duration(positive: true) }
        if let node = fields["default_timeout"] { scheduler.defaultTimeout = try node.duration(positive: true) }
        if let node = fields["provisioning_timeout"] { scheduler.provisioningTimeout = try node.duration(positive: true) }
        if let node = fields["ordering_grace"] { scheduler.orderingGrace = try node.duration(positive: false) }
        if let node = fields["default_max_attempts"] { scheduler.defaultMaxAttempts = try node.int(atLeast: 1) }
        return scheduler
    }
}
