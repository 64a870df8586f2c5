import ErgonDocker
import Foundation
import Logging

/// Runs `--docker` instances on the local Docker engine: makes, watches and removes their
/// containers, and reports to ``SimulatedVast``.
///
/// Work arrives as jobs on a stream and runs concurrently inside ``run()``; a poll reports the
/// engine's state of every container of this simulator a few times a second. Containers carry
/// the labels ``instanceLabel`` (the instance id) and ``serverLabel`` (this simulator's tag), so
/// several simulators can share an engine and ``removeAll()`` removes only its own.
actor DockerRunner {
    /// The label holding the instance id.
    static let instanceLabel = "ergon-vast-sim"
    /// The label holding the simulator's tag.
    static let serverLabel = "ergon-vast-sim.server"
    /// The label holding which (re)launch of the instance the container is.
    static let generationLabel = "ergon-vast-sim.generation"

    /// Something to do.
    enum Job: Sendable {
        case launch(ContainerLaunch)
        /// Stop a run: keep its output, remove its containers.
        case stop(instanceID: Int, generation: Int)
        /// Remove every container of a destroyed instance.
        case remove(instanceID: Int)
    }

    let client: DockerEngineClient
    let serverTag: String
    private let vast: SimulatedVast
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private nonisolated let continuation: AsyncStream<Job>.Continuation

    init(client: DockerEngineClient, serverTag: String, vast: SimulatedVast, logger: Logger) {
        self.client = client
        self.serverTag = serverTag
        self.vast = vast
        self.logger = logger
        (self.jobs, self.continuation) = AsyncStream.makeStream(of: Job.self)
    }

    /// Queues a job for ``run()``.
    nonisolated func enqueue(_ job: Job) {
        continuation.yield(job)
    }

    /// Performs jobs and polls container states until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pollStates() }
            for await job in jobs {
                group.addTask { await self.perform(job) }
            }
            group.cancelAll()
        }
    }

    private func pollStates() async {
        while !Task.isCancelled {
            do {
                let containers = try await client.listContainers(labels: ["\(Self.serverLabel)=\(serverTag)"])
                var states: [Int: (id: String, state: String)] = [:]
                for container in containers {
                    guard let id = container.labels?[Self.instanceLabel].flatMap(Int.init) else { continue }
                    states[id] = (container.id, container.state)
                }
                await vast.containerStates(states)
            } catch {
                logger.debug("vast-sim: listing containers failed: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(300))
        }
    }

    private func perform(_ job: Job) async {
        switch job {
        case .launch(let launch): await perform(launch)
        case .stop(let instanceID, let generation):
            var output: [String] = []
            // Only this run's container: a restart may already have made the next one.
            let stopped = await containers(of: instanceID, generation: generation)
            for container in stopped {
                output += await self.output(of: container)
            }
            // Hand the output over before removing, so a log read never finds neither.
            await vast.containerStopped(instanceID: instanceID, generation: generation, output: output)
            for container in stopped {
                _ = try? await client.removeContainer(container)
            }
        case .remove(let instanceID):
            for container in await containers(of: instanceID) {
                _ = try? await client.removeContainer(container)
            }
        }
    }

    private func perform(_ launch: ContainerLaunch) async {
        let id = launch.instanceID
        let generation = launch.generation
        do {
            if try await !client.imageExists(launch.image) {
                try await client.pullImage(launch.image, credentials: launch.credentials)
            }
        } catch {
            await vast.containerFailed(
                instanceID: id, generation: generation,
                stage: .launchFailed(message: "Error response from daemon: \(Self.message(error))"))
            return
        }
        let containerID: String
        do {
            containerID = try await client.createContainer(launch.body)
        } catch {
            await vast.containerFailed(
                instanceID: id, generation: generation,
                stage: .launchFailed(message: "Error response from daemon: \(Self.message(error))"))
            return
        }
        guard await vast.containerCreated(instanceID: id, generation: generation, containerID: containerID) else {
            // Destroyed or stopped while it was being made.
            _ = try? await client.removeContainer(containerID)
            return
        }
        do {
            try await client.startContainer(containerID)
        } catch {
            await vast.containerFailed(instanceID: id, generation: generation, stage: .startFailed(message: Self.message(error)))
            return
        }
        await vast.containerStarted(instanceID: id, generation: generation, containerID: containerID)
    }

    private func containers(of instanceID: Int, generation: Int? = nil) async -> [String] {
        var labels = ["\(Self.instanceLabel)=\(instanceID)", "\(Self.serverLabel)=\(serverTag)"]
        if let generation { labels.append("\(Self.generationLabel)=\(generation)") }
        let found = try? await client.listContainers(labels: labels)
        return (found ?? []).map(\.id)
    }

    /// The container's output (stdout and stderr in order) as lines.
    func output(of containerID: String) async -> [String] {
        guard let messages = try? await client.containerLogs(containerID, since: nil) else { return [] }
        var bytes: [UInt8] = []
        // Stdout and stderr are read by separate pipes; the engine's timestamps order them best.
        let ordered = messages.enumerated().sorted {
            ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
        }
        for message in ordered { bytes += message.element.payload }
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Removes every container of this simulator (at shutdown).
    func removeAll() async {
        let found = (try? await client.listContainers(labels: ["\(Self.serverLabel)=\(serverTag)"])) ?? []
        for container in found {
            do {
                try await client.removeContainer(container.id)
            } catch {
                logger.warning("vast-sim: could not remove container \(container.id): \(error)")
            }
        }
    }

    private static func message(_ error: any Error) -> String {
        (error as? DockerEngineError)?.message ?? "\(error)"
    }
}
