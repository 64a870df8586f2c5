import ErgonCore
import Foundation
import Logging

/// The dispatcher protocol on rented single-GPU Vast.ai instances.
///
/// Every instance carries the label `ergon:<agent>:<task>:<attempt>`; the listing reads
/// them back, so a restarted agent re-adopts its instances and the reconciler destroys what
/// no live attempt claims. "Stop" always means destroy: a stopped instance bills its disk.
public struct VastBackend: Backend {
    public let name = "vast"
    public var instancesHaveGPU: Bool { true }
    public var launchStartsCommand: Bool { false }
    /// Every read is a `request_logs` call and a `result_url` fetch against the account's rate limit.
    public var pacesLogReads: Bool { true }
    public var logReadsPerSecond: Double? { settings.logReadsPerSecond }

    public func acceptanceCheck(for task: TaskSpec) -> AcceptanceCheck? {
        AcceptanceCheck.effective(agent: settings.acceptanceCheck, task: task.vast)
    }
    /// Launches search and order one at a time (``OrderTurns``): enough in flight to keep the
    /// turns busy between two ticks (a tick over 1000 instances takes about 2 s, and a turn a
    /// tenth of that); the rest of the pending tasks stay unclaimed, free for other agents,
    /// instead of each holding a claim and its memory here for minutes.
    public var maxLaunchesInFlight: Int? { 32 }

    let client: VastClient
    let settings: ErgonConfig.Vast
    public let agentID: String
    /// What happened on each machine, and the machines to keep away from.
    let hosts: HostReputation
    /// The machines that ran each image lately; nil: none are remembered or preferred.
    let warmHosts: WarmHosts?
    /// Reads an image's entrypoint and Cmd from its registry when a task sets no entrypoint.
    let imageConfig: (any ImageConfigSource)?
    let logger: Logger
    /// How long `destroy` waits for an instance to read back as gone.
    let destroyConfirmation: Duration
    /// Launches search and order one at a time; copies of this backend share the turns.
    let orderTurns = OrderTurns()
    /// Images whose registry gave no size lately (the `effective_cost` ranking's image size).
    let unsizedImages = UnsizedImages()
    let sleep: @Sendable (Duration) async throws -> Void

    /// A backend for the `vast_api` settings. The filters are parsed now, so a bad one stops
    /// the agent at start rather than at its first launch.
    public init(
        client: VastClient, settings: ErgonConfig.Vast, agentID: String, hosts: HostReputation = HostReputation(),
        warmHosts: WarmHosts? = nil, imageConfig: (any ImageConfigSource)? = nil, destroyConfirmation: Duration = .seconds(60), logger: Logger = Logger(label: "ergon.vast"),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws(OfferQueryError) {
        _ = try OfferSelection.make(agentFilters: settings.offerFilters, maxDPH: settings.maxDPH, diskGB: settings.diskGB)
        self.client = client
        self.settings = settings
        self.agentID = agentID
        self.hosts = hosts
        self.warmHosts = warmHosts
        self.imageConfig = imageConfig
        self.destroyConfirmation = destroyConfirmation
        self.logger = logger
        self.sleep = sleep
    }

    /// Runs `body` with a backend and its HTTP client, shutting the client down after. Images'
    /// entrypoints are read from their registries over the same client. `warmHostsFile` is where
    /// the machines that ran each image are remembered (``WarmHosts/path(cacheDirectory:)``), and
    /// `hostRecordFile` what happened on each machine (``HostReputation/path(cacheDirectory:)``).
    public static func withBackend<T: Sendable>(
        settings: ErgonConfig.Vast, agentID: String, warmHostsFile: String? = nil, hostRecordFile: String? = nil,
        logger: Logger = Logger(label: "ergon.vast"),
        _ body: (VastBackend) async throws -> T
    ) async throws -> T {
        guard let key = settings.apiKey else {
            throw BackendError(.refused, "vast_api.api_key is not set")
        }
        guard let url = URL(string: settings.url) else {
            throw BackendError(.refused, "vast_api.url: invalid URL \(settings.url)")
        }
        return try await VastClient.withClient(baseURL: url, apiKey: key, logger: logger) { client in
            let images = client.registryImageConfig(registries: settings.registries)
            let warmHosts = warmHostsFile.map { WarmHosts(path: $0, logger: logger) }
            let backend = try VastBackend(
                client: client, settings: settings, agentID: agentID, hosts: HostReputation(path: hostRecordFile, logger: logger),
                warmHosts: warmHosts, imageConfig: images, logger: logger)
            return try await body(backend)
        }
    }

    public func prepare() async throws {
        do {
            _ = try await client.listInstances()
        } catch let error as VastError {
            if error.kind == .auth {
                throw BackendError(.refused, "the Vast API at \(settings.url) refused vast_api.api_key (check the key, or the variable it comes from): \(error)")
            }
            throw BackendError(.unreachable, "the Vast API at \(settings.url) cannot be used: \(error)")
        }
    }

    /// The instances labelled by `owners` in the account.
    public func list(owners: Set<String>) async throws -> [BackendInstance] {
        let prefixes = owners.map { InstanceLabel.vastPrefix(agentID: $0) }
        let instances: [VastInstance]
        do {
            instances = try await client.listInstances()
        } catch let error as VastError {
            throw Self.backendError(error, doing: "listing instances")
        }
        let ours = instances.filter { instance in prefixes.contains { instance.label?.hasPrefix($0) ?? false } }
        let listed = ours.map(\.backendInstance)
        await hosts.noteListing(listed)
        // Only a started container proves the image is on the machine: an order, or a host
        // that never finished loading, does not.
        await warmHosts?.record(ours.compactMap { instance in
            guard instance.hasStartedItsImage, let machine = instance.machineID, let image = instance.imageUUID else { return nil }
            return (image: image, machine: machine)
        })
        return listed
    }

    /// `vast:<api url>#<fingerprint of the api key>`: agents on one account see each other's
    /// instances. The fingerprint is 12 hex digits of the key's SHA-256, never the key.
    public func scope() async throws -> String {
        let fingerprint = WorkerToken.hash(of: settings.apiKey ?? "").prefix(12)
        return "vast:\(settings.url)#\(fingerprint)"
    }

    /// Relabels an instance taken over from another agent, so the account's listing shows who
    /// runs it now.
    public func adopt(instanceID: String, label: InstanceLabel) async throws {
        let id = try Self.instanceNumber(instanceID)
        do {
            try await client.setLabel(id: id, label: label.vastLabel)
        } catch let error as VastError {
            throw Self.backendError(error, doing: "relabelling instance \(instanceID)")
        }
    }

    public func environment(task: TaskRecord, attempt: Int, parents: [TaskRecord], access: WorkerAccess?) -> [String: String] {
        WorkerEnvironment.vast(task: task, attempt: attempt, parents: parents, access: access)
    }

    /// The task runs on a rented host: its worker fetches and publishes artifacts itself.
    public var mountsTaskFolder: Bool { false }

    /// The `effective_cost` ranking takes the median of past runs as the run time of a task
    /// without `vast.expected_runtime`.
    public func wantsPastRunTimes(for task: TaskSpec) -> Bool {
        settings.ranking == .effectiveCost && task.vast?.expectedRuntimeSeconds == nil
    }

    public func avoidHost(ofInstance instanceID: String, reason: String) async {
        await blame(instanceID, reason: reason, kind: nil)
    }

    public func rejectHost(ofInstance instanceID: String, reason: String) async {
        await blame(instanceID, reason: reason, kind: .failedCheck)
    }

    private func blame(_ instanceID: String, reason: String, kind: HostReputation.Event.Kind?) async {
        guard let machine = await hosts.blame(instance: instanceID, reason: reason, kind: kind) else { return }
        if let exclusion = await hosts.exclusions().first(where: { $0.machine == machine }) {
            logger.warning("avoiding Vast machine \(machine) until \(exclusion.until): \(exclusion.reason)")
        }
    }

    public func readLogs(instanceID: String, cursor: String?) async throws -> LogRead {
        let id = try Self.instanceNumber(instanceID)
        var position = cursor.flatMap(VastLogCursor.init(encoded:)) ?? VastLogCursor()
        var step: VastLogCursor.Step
        var extraReads = -1
        repeat {
            extraReads += 1
            let text: String
            do {
                text = try await client.logs(id: id, tail: position.tail)
            } catch let error as VastError {
                throw Self.backendError(error, doing: "reading the logs of instance \(instanceID)")
            }
            step = position.advance(with: Array(text.utf8))
            // The output outgrew the tail since the last read (reads are spaced out with many
            // instances running): read a longer one now rather than lose the lines between.
            guard step.missedOverlap, position.tail < VastLogCursor.maximumTail else { break }
            position.tail = min(position.tail * 4, VastLogCursor.maximumTail)
            logger.debug("instance \(instanceID): the log outgrew its tail since the last read; reading \(position.tail) lines")
        } while true
        if step.gap {
            logger.warning("instance \(instanceID): log lines were lost between two reads; asking for \(step.cursor.tail) lines from now on")
        }
        return LogRead(bytes: step.bytes, cursor: step.cursor.encoded, extraReads: extraReads)
    }

    public func destroy(instanceID: String) async throws {
        let id = try Self.instanceNumber(instanceID)
        do {
            try await client.destroyInstance(id: id)
        } catch let error as VastError {
            throw Self.backendError(error, doing: "destroying instance \(instanceID)")
        }
        // Destroyed means it reads back as gone; until then the attempt keeps it.
        let deadline = ContinuousClock.now + destroyConfirmation
        var delay = Duration.milliseconds(250)
        while true {
            do {
                if try await client.instance(id: id) == nil { return }
            } catch let error as VastError where error.kind == .notFound {
                return
            } catch let error as VastError {
                throw Self.backendError(error, doing: "confirming instance \(instanceID) is gone")
            }
            guard ContinuousClock.now < deadline else {
                throw BackendError(.refused, "instance \(instanceID) still exists \(destroyConfirmation) after it was destroyed; trying again next tick")
            }
            try await sleep(delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    public func changes() -> AsyncStream<Void> {
        // Vast has no event stream: the poll interval paces the loop. The stream stays open
        // (it ends when the consuming task is cancelled) so the scheduler keeps listening.
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        continuation.onTermination = { _ in _ = continuation }
        return stream
    }

    /// Vast's instance ids are numbers; anything else never came from this backend.
    static func instanceNumber(_ instanceID: String) throws -> Int {
        guard let id = Int(instanceID) else { throw BackendError(.malformed, "\"\(instanceID)\" is not a Vast instance id") }
        return id
    }

    /// One mapping from the client's classification to the scheduler's.
    static func backendError(_ error: VastError, doing what: String) -> BackendError {
        let kind: BackendError.Kind
        switch error.kind {
        case .timeout: kind = .unreachable
        case .transport, .server, .rateLimited: kind = .unreachable
        case .malformed: kind = .malformed
        case .auth, .rejected, .notFound, .offerGone: kind = .refused
        }
        return BackendError(kind, "\(what): \(error)")
    }
}
