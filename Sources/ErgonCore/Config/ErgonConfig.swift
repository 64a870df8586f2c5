import Foundation

/// The agent's configuration, as loaded and validated from one YAML file.
public struct ErgonConfig: Equatable, Sendable {
    /// Which backend runs tasks.
    public enum Mode: String, Equatable, Sendable, CaseIterable {
        case docker
        case vast
    }

    /// Where the task queue lives.
    public enum QueueLocation: Equatable, Sendable, CustomStringConvertible {
        /// An embedded SQLite file.
        case sqlite(path: String)
        /// A PostgreSQL database shared by several agents.
        case postgres(PostgresLocation)
        public var description: String {
            switch self {
            case .sqlite(let path): return "sqlite:\(path)"
            case .postgres(let location): return location.description
            }
        }
        /// True when other machines' agents may share it.
        public var isShared: Bool {
            if case .postgres = self { return true }
            return false
        }
    }

    /// Where logs are stored.
    public enum LogStoreLocation: Equatable, Sendable, CustomStringConvertible {
        /// A local directory.
        case file(directory: String)
        /// Objects under `prefix` (no leading or trailing `/`; may be empty) in an S3 bucket,
        /// reached with the `s3` settings.
        case s3(bucket: String, prefix: String)
        public var description: String {
            switch self {
            case .file(let directory): return "file://\(directory)"
            case .s3(let bucket, let prefix): return "s3://\(bucket)/\(prefix)"
            }
        }
    }

    /// How to reach object storage (`s3`): AWS, or any S3-compatible service.
    public struct S3: Equatable, Sendable {
        /// The service's origin; nil for AWS in `region`.
        public var endpoint: String?
        public var region: String = "us-east-1"
        /// `path` (the default with an endpoint) or `virtual` (the default on AWS).
        public var addressing: String?
        public var accessKeyID: String?
        /// Never printed: its description hides it.
        public var secretAccessKey: Secret?
        public var sessionToken: Secret?
        /// Whether multipart uploads carry SHA-256 part checksums (`x-amz-checksum-algorithm`);
        /// off only for a store that refuses them.
        public var partChecksums = true
        public init() {}
    }

    /// A credential that prints as `(hidden)`, so it cannot reach a log line or a message by accident.
    public struct Secret: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        /// The credential itself; read it only to sign with it.
        public let value: String
        public init(_ value: String) { self.value = value }
        public var description: String { "(hidden)" }
        public var debugDescription: String { "(hidden)" }
    }

    /// The scheduler loop's settings.
    public struct Scheduler: Equatable, Sendable {
        /// Tasks this agent runs at once.
        public var maxParallelTasks: Int = 4
        /// The fallback tick interval; wake-ups make most ticks happen sooner.
        public var pollInterval: Duration = .seconds(5)
        /// The run deadline of a task that sets no `timeout`.
        public var defaultTimeout: Duration = .seconds(24 * 3600)
        /// How long an instance may stay provisioning (docker: created, not started).
        public var provisioningTimeout: Duration = .seconds(30 * 60)
        /// How long an ordered instance may stay invisible in the listing.
        public var orderingGrace: Duration = .seconds(120)
        /// Attempts a task may use for system errors when it sets no `max_attempts`.
        public var defaultMaxAttempts: Int = 3
        public init() {}
    }

    /// Credentials for pulling from one registry.
    public struct RegistryAuth: Equatable, Sendable {
        /// The registry host (`ghcr.io`, `registry.example.org:5000`); `docker.io` for Docker Hub.
        public var host: String
        public var username: String
        public var password: String
        public init(host: String, username: String, password: String) {
            self.host = host
            self.username = username
            self.password = password
        }
    }

    /// Which GPUs docker mode may hand to tasks.
    public enum GPUSelection: Equatable, Sendable {
        /// No GPU: GPU tasks are never claimed by this agent.
        case none
        /// Every GPU `nvidia-smi` reports at start.
        case all
        /// These device ids (indexes or UUIDs).
        case devices([String])
    }

    /// When docker mode pulls a task's image.
    public enum CacheUsage: String, Equatable, Sendable, CaseIterable {
        /// Use the engine's copy when it has one; pull only when it does not.
        case cacheFirst = "cache_first"
        /// Pull every time; fall back to the engine's copy when the pull fails.
        case remoteFirst = "remote_first"
        /// Pull every time; a failed pull fails the launch.
        case requirePull = "require_pull"
    }

    /// The resource and image cache (`cache`).
    public struct Cache: Equatable, Sendable {
        /// Where resources are kept; nil: `<data_dir>/cache/<agent id>`.
        public var directory: String?
        /// Entries and images unused for this long are removed.
        public var purgeUnusedAfter: Duration = .seconds(24 * 3600)
        /// How often the agent applies the policy.
        public var checkEvery: Duration = .seconds(3600)
        /// The most bytes the resource cache holds; least recently used unused entries go first.
        public var maxSize: Int64 = 100 * 1_073_741_824
        /// Resources fetched at agent start and never evicted.
        public var requiredResources: [ResourceSource] = []
        /// Images pulled at agent start (docker mode) and never removed.
        public var requiredImages: [String] = []
        public init() {}
    }

    /// Docker mode's settings.
    public struct Docker: Equatable, Sendable {
        /// Path of the engine's unix socket.
        public var socket: String = "/var/run/docker.sock"
        public var gpus: GPUSelection = .none
        /// Extra binds for every task, in Docker's `HOST:CONTAINER[:ro|rw]` form.
        public var volumes: [String] = []
        public var registries: [RegistryAuth] = []
        /// `NetworkMode` of task containers (`host`, `none`, or `default` for the engine's).
        public var network: String = "default"
        /// When to pull a task's image (`cache_usage`).
        public var cacheUsage: CacheUsage = .cacheFirst
        public init() {}
    }

    /// Vast mode's settings (`vast_api`); also read by `ergon offers` in any mode.
    public struct Vast: Equatable, Sendable {
        /// The real console; a simulator's URL for rehearsals.
        public static let defaultURL = "https://console.vast.ai"
        public var url: String = Self.defaultURL
        /// The account's API key; nil when the file sets none.
        public var apiKey: String?
        /// Offer filters in the query language of `vastai search offers`, validated at load.
        public var offerFilters: String = ""
        /// Disk asked for each instance, in GB, unless a task sets `vast.disk_gb`.
        public var diskGB: Double = 20
        /// The highest price per hour ordered (`dph_total`, storage included); nil: no cap.
        public var maxDPH: Double?
        /// How many offers one launch tries, walking down the list, when offers are taken.
        public var maxOffersTried: Int = 5
        /// How long an instance may stay loading; nil: `scheduler.provisioning_timeout`.
        public var provisioningTimeout: Duration?
        /// Pull credentials for private images, sent to Vast as `image_login`.
        public var registries: [RegistryAuth] = []
        /// Prefer a machine that already ran the task's image when its price is within this
        /// fraction of the cheapest offer (`0.1` for `10%`); nil: always the cheapest.
        public var preferWarmHostsWithin: Double?
        /// How much longer than a task's timeout an offer's host must stay available
        /// (`duration`) to be ordered: room for provisioning and the end of the run.
        public var lifetimeMargin: Duration = .seconds(3600)
        /// Log reads per second across every running instance (a read is a `request_logs` call
        /// and its `result_url` polls): with more than this × `logs.flush_interval` instances
        /// running, each one's log is read less often than every flush interval.
        public var logReadsPerSecond: Double = 5
        /// The check every instance passes before a task's command runs; nil: none (a task
        /// may still ask for its own).
        public var acceptanceCheck: AcceptanceCheck?
        /// How matching offers are ordered: `effective_cost` (least expected money for the
        /// task's work; the default since `Scripts/bench ranking` showed it spending less and
        /// finishing sooner on faulty markets) or `price` (cheapest per hour).
        public var ranking: OfferRanking = .effectiveCost
        /// Whether `submit` reads each task's image from its registry and refuses one without
        /// `/bin/sh`, which the launch wrapper and the acceptance check run under.
        public var checkImageShell = true
        public init() {}
    }

    /// The agent's HTTP server (`server`): the worker API rented hosts call back, and the
    /// operator's task API.
    public struct Server: Equatable, Sendable {
        /// A `HOST:PORT` to listen on.
        public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
            public var host: String
            public var port: Int
            public init(host: String, port: Int) {
                self.host = host
                self.port = port
            }
            /// Parses `HOST:PORT` or `[IPv6]:PORT`.
            public init?(_ text: String) {
                let host: Substring
                let port: Substring
                if text.hasPrefix("[") {
                    guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
                    host = text[text.index(after: text.startIndex)..<close]
                    port = text[text.index(close, offsetBy: 2)...]
                } else {
                    guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
                    host = text[..<colon]
                    port = text[text.index(after: colon)...]
                }
                guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }),
                    let number = Int(port), (0...65535).contains(number)
                else { return nil }
                self.init(host: String(host), port: number)
            }
            public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        }

        /// The certificate and key of the server's own TLS.
        public struct TLS: Equatable, Sendable {
            public var certificateFile: String
            public var keyFile: String
            public init(certificateFile: String, keyFile: String) {
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        /// Where to listen; nil (`listen: off`) runs no server.
        public var listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 8321)
        /// The origin rented hosts reach the server at (`https://host:port`, no path); nil:
        /// tasks get no worker API.
        public var publicURL: String?
        public var tls: TLS?
        /// The bearer token of the operator's task API; nil: that API is off.
        public var operatorToken: Secret?
        public init() {}

        /// `ARKINDEX_API_URL` for tasks: the public origin followed by `/api/v1/`.
        public var workerAPIURL: String? { publicURL.map { $0 + "/api/v1/" } }

        /// `text` as a bare origin without a trailing `/`, or nil when it has a path, query,
        /// user or a scheme other than http(s).
        public static func publicOrigin(_ text: String) -> String? {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
                components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil,
                components.user == nil, components.password == nil
            else { return nil }
            var origin = text
            while origin.hasSuffix("/") { origin.removeLast() }
            return origin
        }
    }

    /// How the agent's own log lines are written (`logging.format`).
    public enum LogFormat: String, Equatable, Sendable, CaseIterable {
        /// One line of text per message, for people.
        case text
        /// One JSON object per line, for log collectors.
        case json
    }

    /// The file the configuration came from (for messages), or `<defaults>`.
    public var source: String
    public var agentID: String
    public var mode: Mode
    public var dataDir: String
    public var queue: QueueLocation
    /// Leases of agents sharing the queue (`queue.lease`, `queue.heartbeat_every`,
    /// `queue.docker_takeover_after`).
    public var leases: Takeover.Policy
    public var logStore: LogStoreLocation
    /// Where task artifacts are kept (`artifacts.store`): a local folder or S3, like logs.
    public var artifactStore: LogStoreLocation
    /// How often a running task's new log bytes are sent to the store (`logs.flush_interval`).
    public var logFlushInterval: Duration
    public var s3: S3
    public var server: Server
    public var scheduler: Scheduler
    public var docker: Docker
    public var vast: Vast
    public var cache: Cache
    /// How the agent writes its own log lines on standard error (`logging.format`).
    public var logFormat: LogFormat = .text
    /// The money caps across the queue's instances (`budget`).
    public var budget = BudgetPolicy()
    /// Where ended workflows are reported (`notify`).
    public var notify = Notify()

    public init(
        source: String = "<defaults>", agentID: String, mode: Mode = .docker, dataDir: String,
        queue: QueueLocation? = nil, leases: Takeover.Policy = .init(), logStore: LogStoreLocation? = nil, artifactStore: LogStoreLocation? = nil,
        logFlushInterval: Duration = .seconds(5), s3: S3 = .init(), server: Server = .init(),
        scheduler: Scheduler = .init(), docker: Docker = .init(), vast: Vast = .init(), cache: Cache = .init()
    ) {
        self.cache = cache
        self.artifactStore = artifactStore ?? .file(directory: dataDir + "/artifacts")
        self.server = server
        self.logFlushInterval = logFlushInterval
        self.s3 = s3
        self.vast = vast
        self.source = source
        self.agentID = agentID
        self.mode = mode
        self.dataDir = dataDir
        self.queue = queue ?? .sqlite(path: dataDir + "/queue.sqlite")
        self.leases = leases
        self.logStore = logStore ?? .file(directory: dataDir + "/logs")
        self.scheduler = scheduler
        self.docker = docker
    }

    /// How long an instance may stay provisioning in this configuration's mode.
    public var provisioningTimeout: Duration {
        mode == .vast ? (vast.provisioningTimeout ?? scheduler.provisioningTimeout) : scheduler.provisioningTimeout
    }

    /// The directory holding per-attempt log spools.
    public var spoolDirectory: String { dataDir + "/spool" }
    /// The directory holding each task's `/data` tree (docker mode).
    public var workDirectory: String { dataDir + "/work" }
    /// Where cached resources live (`cache.dir`): by default one folder per agent id, since
    /// agents may share a data_dir but each needs its own cache (see `CacheDirectoryLock`).
    public var cacheDirectory: String { cache.directory ?? dataDir + "/cache/" + agentID }
    /// The file a submit or cancel touches to wake a running agent.
    public var wakeupFile: String { dataDir + "/wakeup" }
}

extension ErgonConfig.LogStoreLocation {
    /// True for an `s3://` store.
    public var isS3: Bool {
        if case .s3 = self { return true }
        return false
    }
}
