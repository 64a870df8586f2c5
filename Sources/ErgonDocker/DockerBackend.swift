import ErgonCore
import Foundation
import Logging

/// Docker mode's backend: each attempt is one container on the local engine, owned through labels.
public struct DockerBackend: Backend {
    /// How long `destroy` waits for the engine to confirm a container is gone.
    public static let removalTimeout: Duration = .seconds(60)

    /// The engine client (lent by the caller, or owned through ``withBackend(settings:agentID:gpus:imageRecord:logger:_:)``).
    public let client: DockerEngineClient
    /// Docker mode's settings.
    public let settings: ErgonConfig.Docker
    /// The agent whose containers this backend sees.
    public let agentID: String
    /// The GPU device ids this agent may hand out (resolved with ``GPUInventory``).
    public let gpus: [String]
    /// The images launches use: pulled per `docker.cache_usage`, each use recorded; also pre-pulls
    /// `cache.required.images` and removes images unused past `cache.purge_unused_after`.
    public let images: DockerImageCache
    let logger: Logger

    /// A backend speaking through `client`, whose lifetime the caller manages. `imageRecord` keeps
    /// the use of images (in memory unless given one on `<cache dir>/images.json`).
    public init(
        client: DockerEngineClient, settings: ErgonConfig.Docker, agentID: String, gpus: [String] = [],
        imageRecord: ImageUsageRecord = ImageUsageRecord(path: nil), logger: Logger = Logger(label: "ergon.docker")
    ) {
        self.client = client
        self.settings = settings
        self.agentID = agentID
        self.gpus = gpus
        self.images = DockerImageCache(client: client, settings: settings, record: imageRecord, logger: logger)
        self.logger = logger
    }

    /// Lends a backend with its own client on `settings.socket`, shut down when `body` returns.
    public static func withBackend<Result: Sendable>(
        settings: ErgonConfig.Docker, agentID: String, gpus: [String] = [],
        imageRecord: ImageUsageRecord = ImageUsageRecord(path: nil),
        logger: Logger = Logger(label: "ergon.docker"), _ body: (DockerBackend) async throws -> Result
    ) async throws -> Result {
        try await DockerEngineClient.withClient(socketPath: settings.socket, logger: logger) { client in
            try await body(
                DockerBackend(
                    client: client, settings: settings, agentID: agentID, gpus: gpus, imageRecord: imageRecord, logger: logger))
        }
    }

    /// `docker`.
    public var name: String { "docker" }

    /// The label filter selecting every agent's containers; `list(owners:)` keeps its owners'.
    var anyAgentLabelFilter: String { InstanceLabel.dockerAgentKey }

    /// `docker:<host>:<socket>`: agents on one host using one engine socket see each other's
    /// containers. Read without asking the engine (its `/info` is slow on a busy engine).
    public func scope() async throws -> String {
        "docker:\(LocalHost.name):\(settings.socket)"
    }

    /// Pings the engine and negotiates the API version.
    public func prepare() async throws {
        do {
            try await client.ping()
            let version = try await client.apiVersion()
            logger.debug("docker engine ready", metadata: ["socket": "\(settings.socket)", "api": "\(version)"])
        } catch {
            throw backendError(error, doing: "ping")
        }
    }

    /// The containers of `owners` on this engine, from one listing (plus an inspect for exited
    /// and created ones).
    public func list(owners: Set<String>) async throws -> [BackendInstance] {
        do {
            // One owner (an agent alone on its queue): the engine filters; several: every
            // agent's containers, filtered here.
            let filter = owners.count == 1 ? "\(InstanceLabel.dockerAgentKey)=\(owners.first!)" : anyAgentLabelFilter
            let summaries = try await client.listContainers(labels: [filter])
            var instances: [BackendInstance] = []
            for summary in summaries where owners.contains(summary.labels?[InstanceLabel.dockerAgentKey] ?? "") {
                var details: DockerAPI.ContainerInspect?
                if Self.needsInspect(state: summary.state) {
                    details = try await client.inspectContainer(summary.id)
                    // Removed between the listing and the inspect: it is gone, so it is not listed.
                    if details == nil { continue }
                }
                let state = details?.state.status ?? summary.state
                instances.append(
                    BackendInstance(
                        id: summary.id, label: InstanceLabel(dockerLabels: summary.labels ?? [:]),
                        status: Self.status(state: state, details: details?.state),
                        stateText: state,
                        createdAt: summary.created.map { Date(timeIntervalSince1970: TimeInterval($0)) },
                        image: summary.image))
            }
            return instances
        } catch {
            throw backendError(error, doing: "list containers")
        }
    }

    /// True when the listing's entry does not say enough about a container in `state`.
    static func needsInspect(state: String) -> Bool {
        state == "exited" || state == "created"
    }

    /// Maps the engine's state words (and, for exited and created containers, the inspected state).
    static func status(state: String, details: DockerAPI.ContainerInspect.State?) -> BackendInstance.Status {
        switch state {
        case "created":
            if let error = details?.error, !error.isEmpty { return .failedStart(message: error) }
            return .provisioning
        case "running", "paused", "restarting":
            return .running
        case "exited":
            guard let code = details?.exitCode else { return .lost(reason: "exited without an exit code") }
            return .exited(code: code)
        case "dead":
            return .lost(reason: "the container is dead" + (details?.error.map { ": \($0)" } ?? ""))
        case "removing":
            return .lost(reason: "the container is being removed")
        default:
            return .lost(reason: "unknown container state \"\(state)\"")
        }
    }

    /// Removes a container and returns once the engine confirms it is gone; already gone is success.
    public func destroy(instanceID: String) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: Self.removalTimeout)
        do {
            do {
                try await client.removeContainer(instanceID)
            } catch let error as DockerEngineError where error.isConflict {
                // A removal is already in progress: wait for it below.
                logger.debug("removal already in progress", metadata: ["container": "\(instanceID)"])
            }
            var delay: Duration = .milliseconds(50)
            while try await client.inspectContainer(instanceID) != nil {
                guard clock.now < deadline else {
                    throw BackendError(
                        .refused,
                        "container \(instanceID) is still there \(Self.removalTimeout) after it was removed")
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
                do {
                    try await client.removeContainer(instanceID)
                } catch let error as DockerEngineError where error.isConflict {
                    continue
                }
            }
        } catch {
            throw backendError(error, doing: "remove container \(instanceID)")
        }
    }

    /// Removes the named volumes of a finished workflow; volumes already gone are fine.
    public func cleanUp(workflow: WorkflowRecord) async throws {
        do {
            var names = Set(workflow.volumes.map { Self.volumeName(workflowID: workflow.id, name: $0) })
            let workflowLabel = "\(InstanceLabel.dockerWorkflowKey)=\(workflow.id.uuidString.lowercased())"
            names.formUnion(try await client.listVolumes(labels: [workflowLabel]))
            for name in names.sorted() {
                try await client.removeVolume(name: name)
            }
        } catch {
            throw backendError(error, doing: "remove the volumes of workflow \(workflow.id.uuidString.lowercased())")
        }
    }

    /// The Docker volume holding a workflow's named volume: `ergon-<first 8 of workflow id>-<name>`.
    public static func volumeName(workflowID: UUID, name: String) -> String {
        "ergon-\(workflowID.uuidString.lowercased().prefix(8))-\(name)"
    }

    /// Turns any failure into a `BackendError` an operator can act on.
    func backendError(_ error: any Error, doing action: String) -> any Error {
        Self.backendError(error, doing: action, socket: settings.socket)
    }

    /// Turns any failure while talking to the engine on `socket` into a `BackendError`: the one
    /// mapping of engine failures, shared with ``DockerImageCache``.
    static func backendError(_ error: any Error, doing action: String, socket: String) -> any Error {
        switch error {
        case is CancellationError, is BackendError:
            return error
        case let error as DockerEngineError:
            switch error.code {
            case .unreachable:
                return BackendError(
                    .unreachable,
                    "cannot reach the Docker engine at \(socket): \(error.message) "
                        + "(is dockerd running? set docker.socket in the config)")
            case .timedOut:
                return BackendError(
                    .unreachable,
                    "the Docker engine at \(socket) did not answer \(error.request) in time: \(error.message)")
            case .malformed:
                return BackendError(.malformed, "\(action): the Docker engine answered \(error.request) oddly: \(error.message)")
            default:
                return BackendError(.refused, "\(action): \(error.message)")
            }
        default:
            return BackendError(.refused, "\(action): \(error)")
        }
    }
}
