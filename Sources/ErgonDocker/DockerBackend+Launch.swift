import ErgonCore
import Foundation

extension DockerBackend {
    /// Gets the image as `docker.cache_usage` says (and records its use), creates the workflow's
    /// volumes and the container, records its id, then starts it. A container is rented from no
    /// one: it has no rental choice.
    public func launch(
        _ request: LaunchRequest, record: @Sendable (LaunchedInstance) async throws -> Void
    ) async throws -> LaunchedInstance {
        let spec = request.task.spec
        if let gpu = request.gpu, !gpus.isEmpty, !gpus.contains(gpu) {
            throw BackendError(.launchFailed, "GPU \(gpu) is not one of docker.gpus (\(gpus.joined(separator: ", ")))")
        }
        try await images.ensure(spec.image)
        do {
            for volume in Set(spec.volumes.map(\.name)).sorted() {
                try await client.createVolume(
                    name: Self.volumeName(workflowID: request.workflow.id, name: volume),
                    labels: [InstanceLabel.dockerWorkflowKey: request.workflow.id.uuidString.lowercased()])
            }
        } catch {
            throw launchError(error, doing: "create the workflow volumes")
        }
        let body = Self.containerBody(for: request, settings: settings)
        let id: String
        do {
            id = try await client.createContainer(body, name: Self.containerName(for: request))
        } catch {
            throw launchError(error, doing: "create the container")
        }
        do {
            try await record(LaunchedInstance(id: id))
        } catch {
            // Nobody will know this container: remove it rather than leave it to the orphan reaper.
            try? await destroy(instanceID: id)
            throw error
        }
        do {
            try await client.startContainer(id)
        } catch {
            throw launchError(error, doing: "start the container")
        }
        return LaunchedInstance(id: id)
    }

    /// The create body for one attempt (labels, environment, command, mounts, network, GPU).
    public static func containerBody(for request: LaunchRequest, settings: ErgonConfig.Docker) -> DockerAPI.ContainerCreate {
        let spec = request.task.spec
        var labels = request.label.dockerLabels
        labels[InstanceLabel.dockerWorkflowKey] = request.workflow.id.uuidString.lowercased()
        let mounts = spec.volumes.map {
            DockerAPI.Mount(volume: volumeName(workflowID: request.workflow.id, name: $0.name), target: $0.dest)
        }
        let hostConfig = DockerAPI.HostConfig(
            binds: ["\(request.dataDirectory):/data"] + settings.volumes + request.resources.map { "\($0.path):\($0.resource.target):ro" },
            mounts: mounts,
            networkMode: settings.network == "default" ? nil : settings.network,
            deviceRequests: request.gpu.map { [.nvidiaGPU($0)] })
        return DockerAPI.ContainerCreate(
            image: spec.image,
            cmd: spec.command?.argv,
            entrypoint: engineEntrypoint(spec.entrypoint),
            env: request.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            workingDir: spec.workDir,
            labels: labels,
            hostConfig: hostConfig)
    }

    /// The `Entrypoint` to send. nil keeps the image's. An empty override is sent as `[""]`: checked on
    /// the engine, `[""]` clears the image's entrypoint *and* its `CMD`, as `docker run --entrypoint ""`
    /// does, while `[]` would clear the entrypoint yet still run the image's `CMD` as the program.
    static func engineEntrypoint(_ entrypoint: [String]?) -> [String]? {
        guard let entrypoint else { return nil }
        return entrypoint.isEmpty ? [""] : entrypoint
    }

    /// A readable, unique container name: `ergon-<slug>-<first 8 of task id>-<attempt>`.
    static func containerName(for request: LaunchRequest) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        let slug = String(request.task.spec.slug.map { allowed.contains($0) ? $0 : "-" }.prefix(40))
        let task = request.task.id.uuidString.lowercased().prefix(8)
        return slug.isEmpty ? "ergon-\(task)-\(request.attempt)" : "ergon-\(slug)-\(task)-\(request.attempt)"
    }

    /// A launch failure: the engine's refusals become `.launchFailed` with its message.
    func launchError(_ error: any Error, doing action: String) -> any Error {
        if let error = error as? DockerEngineError, error.code == .status {
            return BackendError(.launchFailed, "cannot \(action): \(error.message)")
        }
        return backendError(error, doing: action)
    }
}
