import Foundation
import Testing

@testable import ErgonCore

/// Parses config text as `ergon.yaml` in `/etc/ergon`.
private func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> ErgonConfig {
    try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: environment,
                           hostName: "GPU-Box_1.example.org")
}

/// The error loading `text` throws; records an issue when it loads.
private func configError(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try parse(text, environment: environment)
        Issue.record("expected an error for:\n\(text)")
        return nil
    } catch {
        return error
    }
}

@Suite("Config loading")
struct ConfigLoaderTests {
    @Test func vastSectionIsReadWithItsSecretFromTheEnvironment() throws {
        let text = """
            agent: {id: vast-1}
            mode: vast
            scheduler:
              provisioning_timeout: 40m
            vast_api:
              url: http://127.0.0.1:8999/
              api_key: ${VAST_KEY}
              offer_filters: gpu_name=RTX_4090 reliability>0.98
              disk_gb: 30
              max_dph: 0.6
              max_offers_tried: 3
              provisioning_timeout: 15m
              log_reads_per_second: 2.5
              acceptance_check: {command: "nvidia-smi -L", timeout: 20s, max_rejections: 1}
              ranking: price
              check_image_shell: false
              registries:
                - {host: ghcr.io, username: bot, password: "${GHCR}"}
            """
        let config = try parse(text, environment: ["VAST_KEY": "k-123", "GHCR": "tok"])
        #expect(config.mode == .vast)
        #expect(config.vast.url == "http://127.0.0.1:8999")
        #expect(config.vast.apiKey == "k-123")
        #expect(config.vast.offerFilters == "gpu_name=RTX_4090 reliability>0.98")
        #expect(config.vast.diskGB == 30)
        #expect(config.vast.maxDPH == 0.6)
        #expect(config.vast.maxOffersTried == 3)
        #expect(config.vast.logReadsPerSecond == 2.5)
        #expect(config.vast.acceptanceCheck == AcceptanceCheck(command: "nvidia-smi -L", timeout: .seconds(20), maxRejections: 1))
        #expect(config.provisioningTimeout == .seconds(900))
        #expect(config.vast.registries == [.init(host: "ghcr.io", username: "bot", password: "tok")])
        // Without its own deadline, vast mode uses the scheduler's.
        let plain = try parse("agent: {id: v}\nmode: vast\nscheduler: {provisioning_timeout: 40m}\nvast_api: {api_key: k}")
        #expect(plain.provisioningTimeout == .seconds(2400))
        #expect(plain.vast.logReadsPerSecond == 5)
        #expect(plain.vast.acceptanceCheck == nil)
        #expect(plain.vast.ranking == .effectiveCost)
        #expect(config.vast.ranking == .price)
        #expect(plain.vast.checkImageShell && !config.vast.checkImageShell)
        // A bare command takes the default timeout and rejections.
        let short = try parse("agent: {id: v}\nmode: vast\nvast_api: {api_key: k, acceptance_check: nvidia-smi}")
        #expect(short.vast.acceptanceCheck == AcceptanceCheck(command: "nvidia-smi", timeout: .seconds(60), maxRejections: 3))
    }

    @Test func s3StoreReadsItsKeysFromTheFileOrTheStandardAWSVariables() throws {
        let fromFile = try parse(
            """
            logs: {store: "s3://ergon-logs/prod/agents/", flush_interval: 2s}
            s3:
              endpoint: http://127.0.0.1:9000
              region: eu-west-3
              access_key_id: ${KEY_ID}
              secret_access_key: ${SECRET}
              part_checksums: false
            """, environment: ["KEY_ID": "AKIAFILE", "SECRET": "file-secret", "AWS_SESSION_TOKEN": "ignored"])
        #expect(!fromFile.s3.partChecksums)
        #expect(fromFile.logStore == .s3(bucket: "ergon-logs", prefix: "prod/agents"))
        #expect(fromFile.logFlushInterval == .seconds(2))
        #expect(fromFile.s3.endpoint == "http://127.0.0.1:9000")
        #expect(fromFile.s3.region == "eu-west-3")
        #expect(fromFile.s3.accessKeyID == "AKIAFILE")
        #expect(fromFile.s3.secretAccessKey?.value == "file-secret")
        #expect(fromFile.s3.sessionToken == nil, "a token from the environment does not go with keys from the file")
        #expect(!"\(fromFile)".contains("file-secret"), "the secret must not show in the config's description")

        let fromEnvironment = try parse(
            "logs: {store: s3://ergon-logs}",
            environment: [
                "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "tok",
                "AWS_DEFAULT_REGION": "ca-central-1", "AWS_ENDPOINT_URL_S3": "https://s3.example.org",
            ])
        #expect(fromEnvironment.logStore == .s3(bucket: "ergon-logs", prefix: ""))
        #expect(fromEnvironment.s3.accessKeyID == "AKIAENV")
        #expect(fromEnvironment.s3.secretAccessKey?.value == "env-secret")
        #expect(fromEnvironment.s3.sessionToken?.value == "tok")
        #expect(fromEnvironment.s3.region == "ca-central-1")
        #expect(fromEnvironment.s3.endpoint == "https://s3.example.org")
        #expect(fromEnvironment.s3.partChecksums, "on unless the file turns them off")
        #expect(!"\(fromEnvironment)".contains("env-secret") && !"\(fromEnvironment)".contains("tok\""))
    }

    @Test func offerFiltersAreCheckedAtLoadWithTheKeyAtFault() {
        let check: ConfigLoader.OfferFilterCheck = { $0.contains("gpu_nme") ? "unknown field \"gpu_nme\"" : nil }
        #expect(throws: ConfigError(kind: .invalidValue, file: "ergon.yaml", keyPath: "vast_api.offer_filters", line: 1,
                                    problem: "unknown field \"gpu_nme\"")) {
            try ConfigLoader.parse(text: "vast_api: {offer_filters: gpu_nme=A100}", fileName: "ergon.yaml",
                                   directory: "/etc", environment: [:], checkOfferFilters: check)
        }
    }

    @Test func emptyFileGivesTheEmbeddedDefaults() throws {
        let config = try parse("")
        #expect(config.source == "ergon.yaml")
        #expect(config.agentID == "gpu-box-1-example-org")
        #expect(config.mode == .docker)
        #expect(config.dataDir == "/etc/ergon/.ergon")
        #expect(config.queue == .sqlite(path: "/etc/ergon/.ergon/queue.sqlite"))
        #expect(config.logStore == .file(directory: "/etc/ergon/.ergon/logs"))
        #expect(config.scheduler.maxParallelTasks == 4)
        #expect(config.scheduler.pollInterval == .seconds(5))
        #expect(config.scheduler.defaultTimeout == .seconds(24 * 3600))
        #expect(config.scheduler.provisioningTimeout == .seconds(1800))
        #expect(config.scheduler.orderingGrace == .seconds(120))
        #expect(config.scheduler.defaultMaxAttempts == 3)
        #expect(config.docker == ErgonConfig.Docker())
        #expect(config.docker.gpus == .none)
    }

    @Test func emptySectionsKeepTheDefaults() throws {
        let config = try parse("agent:\nscheduler:\ndocker:\nlogs:\n")
        #expect(config.agentID == "gpu-box-1-example-org")
        #expect(config.scheduler == ErgonConfig.Scheduler())
    }

    @Test func everyKeyIsRead() throws {
        let config = try parse("""
            agent: {id: box.7_a}
            mode: docker
            data_dir: state
            queue: sqlite:///var/lib/ergon/q.sqlite
            logs: {store: "file://logs/here"}
            scheduler:
              max_parallel_tasks: 8
              poll_interval: 1500ms
              default_timeout: 1h30m
              provisioning_timeout: 10m
              ordering_grace: 0s
              default_max_attempts: 5
            docker:
              socket: unix:///run/docker.sock
              gpus: [0, "GPU-3a1b"]
              volumes: ["/srv/models:/models:ro", "/scratch:/scratch"]
              registries:
                - {host: ghcr.io, username: bot, password: hunter2}
              network: host
            """)
        #expect(config.agentID == "box.7_a")
        #expect(config.dataDir == "/etc/ergon/state")
        #expect(config.queue == .sqlite(path: "/var/lib/ergon/q.sqlite"))
        #expect(config.logStore == .file(directory: "/etc/ergon/logs/here"))
        #expect(config.scheduler.maxParallelTasks == 8)
        #expect(config.scheduler.pollInterval == .milliseconds(1500))
        #expect(config.scheduler.defaultTimeout == .seconds(5400))
        #expect(config.scheduler.provisioningTimeout == .seconds(600))
        #expect(config.scheduler.orderingGrace == .zero)
        #expect(config.scheduler.defaultMaxAttempts == 5)
        #expect(config.docker.socket == "/run/docker.sock")
        #expect(config.docker.gpus == .devices(["0", "GPU-3a1b"]))
        #expect(config.docker.volumes == ["/srv/models:/models:ro", "/scratch:/scratch"])
        #expect(config.docker.registries == [.init(host: "ghcr.io", username: "bot", password: "hunter2")])
        #expect(config.docker.network == "host")
    }

    @Test func queueAndLogsDefaultUnderAConfiguredDataDir() throws {
        let config = try parse("data_dir: /srv/ergon/")
        #expect(config.dataDir == "/srv/ergon")
        #expect(config.queue == .sqlite(path: "/srv/ergon/queue.sqlite"))
        #expect(config.logStore == .file(directory: "/srv/ergon/logs"))
    }

    @Test(arguments: [
        ("gpus: all", ErgonConfig.GPUSelection.all),
        ("gpus: none", .none),
        ("gpus: []", .none),
        ("gpus:", .none),
        ("gpus: [1]", .devices(["1"])),
    ])
    func gpuSelection(line: String, expected: ErgonConfig.GPUSelection) throws {
        #expect(try parse("docker:\n  \(line)").docker.gpus == expected)
    }

    @Test(arguments: [
        ("data_dir: ../var/ergon", "/etc/var/ergon"),
        ("data_dir: ./x/./y", "/etc/ergon/x/y"),
        ("data_dir: ~/ergon", "/home/op/ergon"),
        ("data_dir: /abs//dir", "/abs/dir"),
    ])
    func dataDirResolution(line: String, expected: String) throws {
        #expect(try parse(line, environment: ["HOME": "/home/op"]).dataDir == expected)
    }

    @Test func tildeWithoutHomeIsAnError() {
        #expect(configError("data_dir: ~/ergon")?.description
            == "ergon.yaml: data_dir: cannot expand \"~\": HOME is not set to an absolute path (write an absolute path instead)")
    }

    @Test func aPostgresQueueWithItsLeaseSettings() throws {
        let config = try parse(
            "queue:\n  url: \"postgres://ergon:${PG_PW}@db.internal:6543/work?sslmode=require\"\n  lease: 20s\n  heartbeat_every: 2s\n  docker_takeover_after: 15m",
            environment: ["PG_PW": "s3cret"])
        let location = PostgresLocation(host: "db.internal", port: 6543, user: "ergon", password: "s3cret", database: "work", tls: .require)
        #expect(config.queue == .postgres(location))
        #expect(config.leases == Takeover.Policy(lease: 20, heartbeatInterval: 2, dockerTakeoverAfter: 900))
        #expect(config.queue.description == "postgres://ergon@db.internal:6543/work?sslmode=require")
        #expect(!config.queue.description.contains("s3cret"))
        // The short form, with the password from PGPASSWORD and the default leases.
        let short = try parse("queue: postgres://ergon@db/ergon", environment: ["PGPASSWORD": "from-env"])
        #expect(short.queue == .postgres(PostgresLocation(host: "db", user: "ergon", password: "from-env", database: "ergon")))
        #expect(short.leases == Takeover.Policy())
    }

    @Test func aPostgresURLErrorNeverShowsThePassword() throws {
        let error = try #require(configError("queue: \"postgres://ergon:Xyzzy-42@db\""))
        #expect(error.keyPath == "queue")
        #expect(!error.description.contains("Xyzzy"), "leaked: \(error.description)")
    }

    @Test func relativeQueuePathResolvesAgainstTheConfigDirectory() throws {
        #expect(try parse("queue: sqlite:q/queue.sqlite").queue == .sqlite(path: "/etc/ergon/q/queue.sqlite"))
    }

    @Test(arguments: [
        ("GPU-Box_1.example.org", "gpu-box-1-example-org"),
        ("worker07", "worker07"),
        ("--Odd__Name--", "odd-name"),
        ("", "ergon"),
        ("ünïcode", "n-code"),
    ])
    func defaultAgentIDIsTheSanitizedHostName(host: String, expected: String) {
        #expect(ConfigLoader.defaultAgentID(hostName: host) == expected)
        #expect(ConfigLoader.isValidAgentID(ConfigLoader.defaultAgentID(hostName: host)))
    }

    // MARK: - Files

    @Test func loadsAFileAndResolvesPathsNextToIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ergon.yaml").path
        try "agent: {id: a1}\nlogs: {store: \"file://logs\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path, environment: [:], hostName: "h")
        let root = directory.standardized.path
        #expect(config.source == path)
        #expect(config.agentID == "a1")
        #expect(config.dataDir == root + "/.ergon")
        #expect(config.logStore == .file(directory: root + "/logs"))
    }

    @Test func missingFileIsNamed() {
        let path = "/nonexistent/\(UUID().uuidString)/ergon.yaml"
        #expect(throws: ConfigError(kind: .noSuchFile, file: path, keyPath: "", problem: "no such file")) {
            try ConfigLoader.load(path: path, environment: [:])
        }
        #expect(ConfigError(kind: .noSuchFile, file: path, keyPath: "", problem: "no such file").description == "\(path): no such file")
    }

    @Test func theExampleConfigLoadsAndDocumentsEveryKey() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("config.example.yaml").path
        let config = try ConfigLoader.load(
            path: path, environment: ["GHCR_TOKEN": "t0ken", "VAST_API_KEY": "k", "GHCR_PULL_TOKEN": "p"], hostName: "h")
        #expect(config.agentID == "gpu-box-1")
        #expect(config.docker.registries.first?.password == "t0ken")
        #expect(config.docker.gpus == .all)
        #expect(config.vast.apiKey == "k")
        #expect(config.vast.offerFilters.contains("gpu_name in [RTX_4090,RTX_3090]"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let keys = ConfigLoader.topLevelKeys + ConfigLoader.agentKeys + ConfigLoader.logsKeys + ConfigLoader.schedulerKeys
            + ConfigLoader.artifactsKeys + ConfigLoader.serverKeys
            + ConfigLoader.dockerKeys + ConfigLoader.registryKeys + ConfigLoader.vastKeys + ConfigLoader.budgetKeys + ConfigLoader.loggingKeys
            + ConfigLoader.notifyKeys
        #expect(config.budget == BudgetPolicy(maxHourlySpend: 5, maxTotalSpend: 500, period: 30 * 86_400, orderHours: 2))
        for key in keys {
            #expect(text.contains("\(key):"), "config.example.yaml does not document \(key)")
        }
    }

    // MARK: - Errors

    /// One row per error class: the config text, the kind, the key path and the whole message.
    static let errorCases: [(String, ConfigError.Kind, String, String)] = [
        ("scheduler:\n  max_paralel_tasks: 4", .unknownKey, "scheduler.max_paralel_tasks",
         "ergon.yaml: scheduler.max_paralel_tasks: unknown key (did you mean \"max_parallel_tasks\"?)"),
        ("dockr:\n  network: host", .unknownKey, "dockr", "ergon.yaml: dockr: unknown key (did you mean \"docker\"?)"),
        ("agent:\n  name: x", .unknownKey, "agent.name", "ergon.yaml: agent.name: unknown key (expected one of: id)"),
        ("docker:\n  registries:\n    - {host: ghcr.io, usernme: u, password: p}", .unknownKey, "docker.registries[0].usernme",
         "ergon.yaml: docker.registries[0].usernme: unknown key (did you mean \"username\"?)"),
        ("scheduler:\n  max_parallel_tasks: many", .wrongType, "scheduler.max_parallel_tasks",
         "ergon.yaml: scheduler.max_parallel_tasks: expected an integer, got \"many\""),
        ("scheduler:\n  max_parallel_tasks: [1]", .wrongType, "scheduler.max_parallel_tasks",
         "ergon.yaml: scheduler.max_parallel_tasks: expected an integer, got a list"),
        ("scheduler:\n  max_parallel_tasks: 0", .invalidValue, "scheduler.max_parallel_tasks",
         "ergon.yaml: scheduler.max_parallel_tasks: must be at least 1, got \"0\""),
        ("scheduler:\n  default_max_attempts: -1", .invalidValue, "scheduler.default_max_attempts",
         "ergon.yaml: scheduler.default_max_attempts: must be at least 1, got \"-1\""),
        ("docker: [socket]", .wrongType, "docker", "ergon.yaml: docker: expected a mapping, got a list"),
        ("agent: {id: {a: b}}", .wrongType, "agent.id", "ergon.yaml: agent.id: expected a string, got a mapping"),
        ("- a\n- b", .wrongType, "",
         "ergon.yaml: expected a mapping of settings (agent, mode, data_dir, queue, logs, artifacts, s3, server, scheduler, docker, vast_api, cache, budget, logging, notify), got a list"),
        ("scheduler:\n  poll_interval: 5 minutes", .invalidValue, "scheduler.poll_interval",
         "ergon.yaml: scheduler.poll_interval: invalid duration \"5 minutes\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("scheduler:\n  default_timeout: -1h", .invalidValue, "scheduler.default_timeout",
         "ergon.yaml: scheduler.default_timeout: invalid duration \"-1h\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("scheduler:\n  poll_interval: 0s", .invalidValue, "scheduler.poll_interval",
         "ergon.yaml: scheduler.poll_interval: must be longer than zero, got \"0s\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("mode: vast", .missingKey, "vast_api.api_key",
         "ergon.yaml: vast_api.api_key: required in vast mode (e.g. api_key: ${VAST_API_KEY}, with the key in the environment)"),
        ("mode: dokcer", .invalidValue, "mode", "ergon.yaml: mode: unknown mode \"dokcer\" (did you mean \"docker\"?)"),
        ("mode: vast\nvast_api: {api_key: k}", .missingKey, "agent.id",
         "ergon.yaml: agent.id: required in vast mode: instances are re-adopted and reaped by the agent id in their label, so it must not change with the host name (e.g. agent: {id: vast-1})"),
        ("vast_api:\n  disk_gb: 4", .invalidValue, "vast_api.disk_gb",
         "ergon.yaml: vast_api.disk_gb: disk_gb must be between 8 (Vast's minimum) and 100000, got \"4\""),
        ("vast_api:\n  url: console.vast.ai", .invalidValue, "vast_api.url",
         "ergon.yaml: vast_api.url: invalid URL \"console.vast.ai\" (expected http(s)://HOST[:PORT], e.g. https://console.vast.ai)"),
        ("vast_api:\n  max_dph: 0", .invalidValue, "vast_api.max_dph",
         "ergon.yaml: vast_api.max_dph: max_dph must be a price per hour above 0, got \"0\""),
        ("vast_api:\n  log_reads_per_second: 0", .invalidValue, "vast_api.log_reads_per_second",
         "ergon.yaml: vast_api.log_reads_per_second: log_reads_per_second must be above 0 and at most 1000, got \"0\""),
        ("vast_api:\n  log_reads_per_second: 5000", .invalidValue, "vast_api.log_reads_per_second",
         "ergon.yaml: vast_api.log_reads_per_second: log_reads_per_second must be above 0 and at most 1000, got \"5000\""),
        ("vast_api:\n  log_reads_per_second: fast", .wrongType, "vast_api.log_reads_per_second",
         "ergon.yaml: vast_api.log_reads_per_second: expected a number, got \"fast\""),
        ("vast_api:\n  check_image_shell: maybe", .wrongType, "vast_api.check_image_shell",
         "ergon.yaml: vast_api.check_image_shell: expected true or false, got \"maybe\""),
        ("vast_api:\n  ranking: cheapest", .invalidValue, "vast_api.ranking",
         "ergon.yaml: vast_api.ranking: unknown ranking \"cheapest\" (expected effective_cost or price)"),
        ("vast_api:\n  acceptance_check: {timeout: 20s}", .invalidValue, "vast_api.acceptance_check",
         "ergon.yaml: vast_api.acceptance_check: has no command (e.g. command: nvidia-smi)"),
        ("vast_api:\n  acceptance_check: {command: nvidia-smi, timeout: 2h}", .invalidValue, "vast_api.acceptance_check.timeout",
         "ergon.yaml: vast_api.acceptance_check.timeout: an acceptance check is meant to be short: at most 1h, got \"2h\""),
        ("vast_api:\n  acceptance_check: {command: nvidia-smi, max_rejection: 2}", .unknownKey, "vast_api.acceptance_check.max_rejection",
         "ergon.yaml: vast_api.acceptance_check.max_rejection: unknown key (did you mean \"max_rejections\"?)"),
        ("vast_api:\n  acceptance_check: \"\"", .invalidValue, "vast_api.acceptance_check",
         "ergon.yaml: vast_api.acceptance_check: is empty (expected a shell command such as \"nvidia-smi\")"),
        ("vast_api:\n  api_kye: k", .unknownKey, "vast_api.api_kye",
         "ergon.yaml: vast_api.api_kye: unknown key (did you mean \"api_key\"?)"),
        ("queue: postgres://ergon@db", .invalidValue, "queue",
         "ergon.yaml: queue: the PostgreSQL URL names no database (postgres://ergon@db/DATABASE)"),
        ("queue: postgres://db/ergon", .invalidValue, "queue",
         "ergon.yaml: queue: the PostgreSQL URL names no user (postgres://USER@db/DATABASE)"),
        ("queue: \"postgres://ergon:pw@db/ergon?sslmode=always\"", .invalidValue, "queue",
         "ergon.yaml: queue: the PostgreSQL URL has an unknown sslmode \"always\" (accepted: disable, prefer, require, verify-full)"),
        ("queue: \"postgres://ergon@db/ergon?pool=3\"", .invalidValue, "queue",
         "ergon.yaml: queue: the PostgreSQL URL has an unknown parameter \"pool\" (accepted: sslmode, sslrootcert)"),
        ("queue:\n  url: postgres://ergon@db/ergon\n  lease: 10s\n  heartbeat_every: 6s", .invalidValue, "queue.heartbeat_every",
         "ergon.yaml: queue.heartbeat_every: queue.heartbeat_every (6s) must be at most half of queue.lease (10s), so one late heartbeat does not end a lease"),
        ("queue:\n  url: postgres://ergon@db/ergon\n  leese: 10s", .unknownKey, "queue.leese",
         "ergon.yaml: queue.leese: unknown key (did you mean \"lease\"?)"),
        ("queue: redis://cache:6379", .invalidValue, "queue",
         "ergon.yaml: queue: unsupported queue \"redis://cache:6379\" (accepted: sqlite:PATH, e.g. sqlite:/var/lib/ergon/queue.sqlite, or postgres://USER@HOST[:PORT]/DATABASE; leave queue out for <data_dir>/queue.sqlite)"),
        ("queue: \"sqlite:\"", .invalidValue, "queue",
         "ergon.yaml: queue: sqlite: needs a file path (accepted: sqlite:PATH, e.g. sqlite:/var/lib/ergon/queue.sqlite, or postgres://USER@HOST[:PORT]/DATABASE; leave queue out for <data_dir>/queue.sqlite)"),
        ("logs:\n  store: s3://bucket/logs", .missingKey, "s3.access_key_id",
         "ergon.yaml: s3.access_key_id: required by the s3:// log store (set it, e.g. access_key_id: ${AWS_ACCESS_KEY_ID}, or export AWS_ACCESS_KEY_ID)"),
        ("logs:\n  store: s3://bucket/logs\ns3: {access_key_id: AKIA1}", .missingKey, "s3.secret_access_key",
         "ergon.yaml: s3.secret_access_key: required by the s3:// log store (set it, e.g. secret_access_key: ${AWS_SECRET_ACCESS_KEY}, or export AWS_SECRET_ACCESS_KEY)"),
        ("logs:\n  store: s3://Bad_Bucket/logs", .invalidValue, "logs.store",
         "ergon.yaml: logs.store: invalid bucket name \"Bad_Bucket\" in \"s3://Bad_Bucket/logs\" (3 to 63 characters: lowercase letters, digits, \".\" and \"-\", starting and ending with a letter or digit)"),
        ("logs:\n  store: s3://bucket/a//b", .invalidValue, "logs.store",
         "ergon.yaml: logs.store: the prefix of \"s3://bucket/a//b\" has an empty, \".\" or \"..\" segment"),
        ("logs:\n  flush_interval: 0s", .invalidValue, "logs.flush_interval",
         "ergon.yaml: logs.flush_interval: must be longer than zero, got \"0s\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("s3:\n  endpoint: localhost:9000", .invalidValue, "s3.endpoint",
         "ergon.yaml: s3.endpoint: invalid endpoint \"localhost:9000\" (expected http(s)://HOST[:PORT] with no path, e.g. http://127.0.0.1:9000)"),
        ("s3:\n  addressing: vhost", .invalidValue, "s3.addressing", "ergon.yaml: s3.addressing: unknown addressing \"vhost\" (accepted: path, virtual)"),
        ("s3:\n  part_checksums: sha256", .wrongType, "s3.part_checksums", "ergon.yaml: s3.part_checksums: expected true or false, got \"sha256\""),
        ("s3:\n  secret_access_key: \"wJalr XUtn\"", .invalidValue, "s3.secret_access_key",
         "ergon.yaml: s3.secret_access_key: the value holds whitespace (check the variable it comes from)"),
        ("s3:\n  acess_key_id: k", .unknownKey, "s3.acess_key_id", "ergon.yaml: s3.acess_key_id: unknown key (did you mean \"access_key_id\"?)"),
        ("logs:\n  store: /var/log/ergon", .invalidValue, "logs.store",
         "ergon.yaml: logs.store: unsupported log store \"/var/log/ergon\" (accepted: file://DIR, e.g. file:///var/lib/ergon/logs, or s3://BUCKET/PREFIX with an s3 section; leave it out for <data_dir>/logs)"),
        ("agent:\n  id: \"gpu:1\"", .invalidValue, "agent.id",
         "ergon.yaml: agent.id: invalid agent id \"gpu:1\" (use only letters, digits, \".\", \"_\" and \"-\"; it goes into container labels)"),
        ("agent:\n  id: \"\"", .invalidValue, "agent.id", "ergon.yaml: agent.id: is empty (expected an agent id such as gpu-box-1)"),
        ("docker:\n  volumes: [\"models:/models\"]", .invalidValue, "docker.volumes[0]",
         "ergon.yaml: docker.volumes[0]: the host path of \"models:/models\" is not absolute (expected HOST:CONTAINER or HOST:CONTAINER:ro|rw with absolute paths, e.g. /srv/models:/models:ro)"),
        ("docker:\n  volumes: [\"/a:/b\", \"/srv:srv\"]", .invalidValue, "docker.volumes[1]",
         "ergon.yaml: docker.volumes[1]: the container path of \"/srv:srv\" is not absolute (expected HOST:CONTAINER or HOST:CONTAINER:ro|rw with absolute paths, e.g. /srv/models:/models:ro)"),
        ("docker:\n  volumes: [\"/a:/b:rx\"]", .invalidValue, "docker.volumes[0]",
         "ergon.yaml: docker.volumes[0]: the mount mode of \"/a:/b:rx\" is neither ro nor rw (expected HOST:CONTAINER or HOST:CONTAINER:ro|rw with absolute paths, e.g. /srv/models:/models:ro)"),
        ("docker:\n  volumes: [\"/a\"]", .invalidValue, "docker.volumes[0]",
         "ergon.yaml: docker.volumes[0]: invalid volume \"/a\" (expected HOST:CONTAINER or HOST:CONTAINER:ro|rw with absolute paths, e.g. /srv/models:/models:ro)"),
        ("docker:\n  volumes: /a:/b", .wrongType, "docker.volumes", "ergon.yaml: docker.volumes: expected a list, got \"/a:/b\""),
        ("docker:\n  gpus: some", .invalidValue, "docker.gpus",
         "ergon.yaml: docker.gpus: invalid GPU selection \"some\" (expected \"all\", a list of device ids such as [0, 1] or [GPU-3a1b…], or nothing for no GPU)"),
        ("docker:\n  gpus: [0, 0]", .invalidValue, "docker.gpus[1]", "ergon.yaml: docker.gpus[1]: device \"0\" is listed twice"),
        ("docker:\n  network: hots", .invalidValue, "docker.network",
         "ergon.yaml: docker.network: unknown network mode \"hots\" (did you mean \"host\"?)"),
        ("docker:\n  socket: tcp://127.0.0.1:2375", .invalidValue, "docker.socket",
         "ergon.yaml: docker.socket: unsupported socket \"tcp://127.0.0.1:2375\" (expected the path of the engine's unix socket, e.g. /var/run/docker.sock or unix:///var/run/docker.sock)"),
        ("docker:\n  registries:\n    - {host: ghcr.io, username: u}", .missingKey, "docker.registries[0].password",
         "ergon.yaml: docker.registries[0].password: missing (write password: ${VARIABLE} to read it from the environment)"),
        ("artifacts:\n  store: s3://bucket/art", .missingKey, "s3.access_key_id",
         "ergon.yaml: s3.access_key_id: required by the s3:// artifact store (set it, e.g. access_key_id: ${AWS_ACCESS_KEY_ID}, or export AWS_ACCESS_KEY_ID)"),
        ("artifacts:\n  store: /srv/artifacts", .invalidValue, "artifacts.store",
         "ergon.yaml: artifacts.store: unsupported artifact store \"/srv/artifacts\" (accepted: file://DIR, e.g. file:///var/lib/ergon/artifacts, or s3://BUCKET/PREFIX with an s3 section; leave it out for <data_dir>/artifacts)"),
        ("artifacts:\n  stor: file:///x", .unknownKey, "artifacts.stor", "ergon.yaml: artifacts.stor: unknown key (did you mean \"store\"?)"),
        ("server:\n  listen: 8321", .invalidValue, "server.listen",
         "ergon.yaml: server.listen: invalid listen address \"8321\" (expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8321 or [::1]:8321, or off)"),
        ("server:\n  listen: 127.0.0.1:70000", .invalidValue, "server.listen",
         "ergon.yaml: server.listen: invalid listen address \"127.0.0.1:70000\" (expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8321 or [::1]:8321, or off)"),
        ("server:\n  public_url: https://ergon.example.org/api", .invalidValue, "server.public_url",
         "ergon.yaml: server.public_url: invalid public_url \"https://ergon.example.org/api\" (expected a bare origin http(s)://HOST[:PORT] with no path: workers join /api/v1/... to it)"),
        ("server:\n  public_url: ergon.example.org:8321", .invalidValue, "server.public_url",
         "ergon.yaml: server.public_url: invalid public_url \"ergon.example.org:8321\" (expected a bare origin http(s)://HOST[:PORT] with no path: workers join /api/v1/... to it)"),
        ("server:\n  tls_cert: /etc/hostname", .missingKey, "server.tls_key",
         "ergon.yaml: server.tls_key: required with server.tls_cert (a PEM private key)"),
        ("server:\n  tls_key: /nonexistent/key.pem", .invalidValue, "server.tls_key",
         "ergon.yaml: server.tls_key: /nonexistent/key.pem: no such readable file"),
        ("server:\n  operator_token: short", .invalidValue, "server.operator_token",
         "ergon.yaml: server.operator_token: the operator token must be at least 16 characters with no whitespace (e.g. from `openssl rand -hex 32`)"),
        ("server:\n  public_ur: http://x", .unknownKey, "server.public_ur", "ergon.yaml: server.public_ur: unknown key (did you mean \"public_url\"?)"),
        ("docker:\n  registries:\n    - {host: \"https://ghcr.io\", username: u, password: p}", .invalidValue,
         "docker.registries[0].host",
         "ergon.yaml: docker.registries[0].host: invalid registry host \"https://ghcr.io\" (expected a host such as ghcr.io or registry.example.org:5000, without scheme or path)"),
    ]

    @Test func serverAndArtifactsSectionsAreRead() throws {
        let defaults = try parse("")
        #expect(defaults.server.listen == .init(host: "127.0.0.1", port: 8321))
        #expect(defaults.server.publicURL == nil && defaults.server.workerAPIURL == nil && defaults.server.operatorToken == nil)
        #expect(defaults.artifactStore == .file(directory: defaults.dataDir + "/artifacts"))
        let config = try parse("""
            artifacts: {store: "s3://bucket/art/"}
            s3: {access_key_id: AKIA1, secret_access_key: "${S}"}
            server:
              listen: "[::1]:0"
              public_url: https://ergon.example.org:8443/
              operator_token: ${OP}
            """, environment: ["S": "secret-s3-value", "OP": "0123456789abcdef0123"])
        #expect(config.artifactStore == .s3(bucket: "bucket", prefix: "art"))
        #expect(config.server.listen == .init(host: "::1", port: 0))
        #expect(config.server.listen?.description == "[::1]:0")
        #expect(config.server.workerAPIURL == "https://ergon.example.org:8443/api/v1/")
        #expect(config.server.operatorToken?.value == "0123456789abcdef0123")
        #expect(!"\(config)".contains("0123456789abcdef0123"), "the operator token never prints")
        #expect(try parse("server: {listen: \"off\"}").server.listen == nil)
    }

    @Test(arguments: errorCases)
    func errorsNameTheFileAndKeyPath(text: String, kind: ConfigError.Kind, keyPath: String, message: String) throws {
        let error = try #require(configError(text))
        #expect(error.kind == kind)
        #expect(error.file == "ergon.yaml")
        #expect(error.keyPath == keyPath)
        #expect(error.description == message)
    }

    @Test(arguments: [
        ("agent:\n  id: a\n   bad: indent", 3),
        ("scheduler: {max_parallel_tasks: 4\n", 2),
        ("mode: docker\nmode: docker\n", 1),
    ])
    func syntaxErrorsNameTheLine(text: String, line: Int) throws {
        let error = try #require(configError(text))
        #expect(error.kind == .syntax)
        #expect(error.line == line)
        #expect(error.description.hasPrefix("ergon.yaml: line \(line): "))
    }

    @Test func duplicateKeysAreNamed() throws {
        let error = try #require(configError("mode: docker\nmode: docker\n"))
        #expect(error.description == "ergon.yaml: line 1: duplicate key \"mode\" in one mapping")
    }

    // MARK: - Environment substitution

    @Test func substitutesVariablesWithDefaultsAndEscapes() throws {
        let config = try parse("""
            agent: {id: "${AGENT}"}
            scheduler:
              max_parallel_tasks: ${SLOTS}
              poll_interval: ${POLL:-30s}
            docker:
              registries:
                - {host: ghcr.io, username: "${USER:-bot}", password: "${TOKEN}"}
                - {host: docker.io, username: me, password: "pa$$word$"}
            """, environment: ["AGENT": "box-2", "SLOTS": "8", "TOKEN": "s3cr3t", "USER": ""])
        #expect(config.agentID == "box-2")
        #expect(config.scheduler.maxParallelTasks == 8)
        #expect(config.scheduler.pollInterval == .seconds(30))
        #expect(config.docker.registries[0] == .init(host: "ghcr.io", username: "bot", password: "s3cr3t"))
        #expect(config.docker.registries[1].password == "pa$word$")
    }

    @Test func anUnsetVariableNamesTheKeyAndTheVariable() throws {
        let error = try #require(configError("docker:\n  registries:\n    - {host: ghcr.io, username: u, password: \"${GHCR_TOKEN}\"}"))
        #expect(error.kind == .missingVariable)
        #expect(error.keyPath == "docker.registries[0].password")
        #expect(error.description
            == "ergon.yaml: docker.registries[0].password: environment variable GHCR_TOKEN is not set (set it, or give a default with ${GHCR_TOKEN:-value})")
    }

    @Test(arguments: [
        ("agent: {id: \"${AGENT_ID}\"}", ["AGENT_ID": "Xyzzy:42"], "agent.id"),
        ("scheduler: {max_parallel_tasks: \"${SLOTS}\"}", ["SLOTS": "Xyzzy-42"], "scheduler.max_parallel_tasks"),
        ("scheduler: {poll_interval: \"${POLL}\"}", ["POLL": "Xyzzy-42"], "scheduler.poll_interval"),
        ("queue: \"${QUEUE_URL}\"", ["QUEUE_URL": "redis://u:Xyzzy-42@db/e"], "queue"),
        ("docker: {gpus: \"${GPUS}\"}", ["GPUS": "Xyzzy-42"], "docker.gpus"),
    ])
    func substitutedValuesAreNeverEchoed(text: String, environment: [String: String], keyPath: String) throws {
        let error = try #require(configError(text, environment: environment))
        #expect(error.keyPath == keyPath)
        #expect(!error.description.contains("Xyzzy"), "leaked: \(error.description)")
        #expect(error.description.contains("\"${") && error.description.contains("(value from the environment not shown)"))
    }

    @Test func aBadReferenceIsAnError() throws {
        let error = try #require(configError("agent: {id: \"${AGENT\"}"))
        #expect(error.description == "ergon.yaml: agent.id: \"${\" has no closing \"}\" (write $$ for a literal dollar sign)")
    }
}

@Suite("Config value parsing: durations, substitution, key suggestions")
struct ConfigLoaderValueTests {
    @Test(arguments: [
        ("90s", 90.0), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1d2h3m4s", 93784),
        ("1h 30m", 5400), ("90", 90), ("1.5", 1.5), ("0", 0), ("0s", 0), ("500ms", 0.5), ("1m500ms", 60.5),
        ("1.5h", 5400), (" 45s ", 45),
    ])
    func validDurations(text: String, seconds: Double) throws {
        #expect(DurationParser.seconds(text) == seconds)
        let duration = try #require(DurationParser.parse(text))
        #expect(duration == .milliseconds(Int64((seconds * 1000).rounded())))
    }

    @Test(arguments: [
        "", "  ", "-5s", "-5", "+5s", "5x", "m", "s10", "1.5.2s", "30m1h", "1h1h", "abc", "5 minutes", "1e3", "nan",
        "inf", ".5s", "5.s", "1h-30m", "1:30", "99999999999d", "5S",
    ])
    func invalidDurations(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test(arguments: [
        ("plain", [:], "plain"),
        ("a${X}b", ["X": "1"], "a1b"),
        ("${X}${Y}", ["X": "1", "Y": "2"], "12"),
        ("${X:-fallback}", [:], "fallback"),
        ("${X:-fallback}", ["X": ""], "fallback"),
        ("${X:-fallback}", ["X": "set"], "set"),
        ("${X:-}", [:], ""),
        ("${X}", ["X": ""], ""),
        ("$$X", [:], "$X"),
        ("$${X}", [:], "${X}"),
        ("cost $5 and $", [:], "cost $5 and $"),
        ("${_A1}", ["_A1": "ok"], "ok"),
    ] as [(String, [String: String], String)])
    func substitution(text: String, environment: [String: String], expected: String) throws {
        #expect(try EnvironmentSubstitution.apply(text, environment: environment) == expected)
    }

    @Test(arguments: [
        ("${X}", EnvironmentSubstitution.Failure.undefinedVariable("X")),
        ("a ${MISSING:x}", .invalidName("MISSING:x")),
        ("${1X}", .invalidName("1X")),
        ("${}", .invalidName("")),
        ("${X", .unterminated),
    ])
    func substitutionFailures(text: String, failure: EnvironmentSubstitution.Failure) {
        #expect(throws: failure) { try EnvironmentSubstitution.apply(text, environment: [:]) }
    }

    @Test(arguments: [
        ("max_paralel_tasks", "max_parallel_tasks"),
        ("pollInterval", "poll_interval"),
        ("poll-interval", "poll_interval"),
        ("DOCKER", "docker"),
        ("comand", "command"),
        ("workdir", "work_dir"),
        ("imgae", "image"),
    ] as [(String, String?)])
    func suggestsTheClosestKey(key: String, expected: String?) {
        let candidates = ConfigLoader.schedulerKeys + ConfigLoader.topLevelKeys + WorkflowLoader.taskKeys
        #expect(KeySuggestion.closest(to: key, among: candidates) == expected)
    }

    @Test(arguments: ["zzzzzz", "gpu_memory_limit", "x"])
    func suggestsNothingForUnrelatedKeys(key: String) {
        #expect(KeySuggestion.closest(to: key, among: WorkflowLoader.taskKeys) == nil)
        #expect(KeySuggestion.hint(for: key, among: ["a", "b"]) == " (expected one of: a, b)")
    }
}
