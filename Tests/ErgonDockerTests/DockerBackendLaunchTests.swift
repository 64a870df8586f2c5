import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

@testable import ErgonDocker

/// Launches the engine refuses, and Docker's entrypoint rules, against the real engine.
@Suite("DockerBackend launch on the real engine", .dockerEngine)
struct DockerBackendLaunchTests {
    let image = DockerTestEngine.image

    @Test func aMissingImageIsUnavailableWithTheEnginesMessage() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let missing = "ergon-test/does-not-exist:\(UUID().uuidString.lowercased().prefix(8))"
            let request = try DockerFixtures.request(TaskSpec(slug: "nope", image: missing, command: .exec(["true"])), agentID: agent)
            let error = try await #require(throws: BackendError.self) {
                _ = try await backend.launch(request) { _ in Issue.record("nothing should be recorded") }
            }
            #expect(error.kind == .imageUnavailable)
            #expect(error.message.hasPrefix("\(missing): "))
            // The engine's own words follow (here: it cannot reach the registry, or the repository does not exist).
            #expect(error.message.count > missing.count + 10)
            #expect(try await backend.list().isEmpty)
        }
    }

    @Test func entrypointSemanticsMatchDocker() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let entrypointImage = try await DockerFixtures.entrypointImage(client: backend.client)
            func run(_ command: TaskCommand?, _ entrypoint: [String]?) async throws -> String {
                let request = try DockerFixtures.request(
                    TaskSpec(slug: "ep", image: entrypointImage, command: command, entrypoint: entrypoint), agentID: agent)
                let id = try await backend.launch(request) { _ in }.id
                let output = try await DockerFixtures.readAll(of: id, backend: backend)
                try await backend.destroy(instanceID: id)
                return output
            }
            // The image: ENTRYPOINT ["/bin/echo", "from-image"], CMD ["image-cmd"].
            #expect(try await run(nil, nil) == "from-image image-cmd\n")
            #expect(try await run(.exec(["mine"]), nil) == "from-image mine\n")
            #expect(try await run(nil, ["/bin/echo", "own-entrypoint"]) == "own-entrypoint\n")
            #expect(try await run(.exec(["/bin/echo", "no-entrypoint"]), []) == "no-entrypoint\n")
            #expect(try await run(.shell("echo via-shell"), []) == "via-shell\n")
            // No entrypoint and no command: nothing to run, said by the engine.
            let request = try DockerFixtures.request(
                TaskSpec(slug: "ep", image: entrypointImage, command: nil, entrypoint: []), agentID: agent)
            let error = try await #require(throws: BackendError.self) { _ = try await backend.launch(request) { _ in } }
            #expect(error.kind == .launchFailed)
            #expect(error.message.contains("No command specified"))
        }
    }

    @Test func aCommandThatCannotStartIsAFailedStart() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "bad", image: image, command: .exec(["/no/such/program"])), agentID: agent)
            let recorded = RecordedID()
            let error = try await #require(throws: BackendError.self) {
                _ = try await backend.launch(request) { await recorded.set($0.id, stateAtRecord: nil) }
            }
            #expect(error.kind == .launchFailed)
            #expect(error.message.contains("/no/such/program"))
            let id = try #require(await recorded.id)
            let instance = try #require(try await backend.list().first { $0.id == id })
            guard case .failedStart(let message) = instance.status else {
                Issue.record("expected a failed start, got \(instance.status)")
                return
            }
            #expect(message.contains("/no/such/program"))
            try await backend.destroy(instanceID: id)
        }
    }

    @Test(.enabled(
        if: !FileManager.default.isExecutableFile(atPath: "/usr/bin/nvidia-container-runtime-hook"),
        "this machine has the NVIDIA container toolkit"))
    func aGPULaunchWithoutTheNvidiaRuntimeFailsClearly() async throws {
        try await DockerFixtures.withBackend(gpus: ["0"]) { backend, agent in
            var spec = TaskSpec(slug: "gpu", image: image, command: .exec(["true"]))
            spec.gpu = true
            let request = try DockerFixtures.request(spec, agentID: agent, gpu: "0")
            let recorded = RecordedID()
            let error = try await #require(throws: BackendError.self) {
                _ = try await backend.launch(request) { await recorded.set($0.id, stateAtRecord: nil) }
            }
            #expect(error.kind == .launchFailed)
            #expect(error.message.hasPrefix("cannot start the container: "))
            #expect(error.message.lowercased().contains("nvidia") || error.message.contains("device driver"))
            let id = try #require(await recorded.id)
            try await backend.destroy(instanceID: id)
            // A GPU outside the configured ones is refused before anything is created.
            let stray = try DockerFixtures.request(spec, agentID: agent, gpu: "7")
            let refused = try await #require(throws: BackendError.self) {
                _ = try await backend.launch(stray) { _ in Issue.record("nothing should be created") }
            }
            #expect(refused.message.contains("GPU 7 is not one of docker.gpus"))
        }
    }
}

/// Holds what a `record` callback saw.
actor RecordedID {
    private(set) var id: String?
    private(set) var stateAtRecord: String?

    func set(_ id: String, stateAtRecord: String?) {
        self.id = id
        self.stateAtRecord = stateAtRecord
    }
}

extension DockerFixtures {
    /// An image with `ENTRYPOINT ["/bin/echo","from-image"]` and `CMD ["image-cmd"]`, made by
    /// committing a container of the test image with those changes (no registry, no CLI).
    static func entrypointImage(client: DockerEngineClient) async throws -> String {
        let name = "ergon-test/entrypoint"
        let tag = "1"
        if try await client.imageExists("\(name):\(tag)") { return "\(name):\(tag)" }
        let body = DockerAPI.ContainerCreate(
            image: DockerTestEngine.image, cmd: ["true"], entrypoint: nil, env: [], workingDir: nil,
            labels: ["ergon.test": "entrypoint-image"],
            hostConfig: .init(binds: [], mounts: [], networkMode: "none", deviceRequests: nil))
        let container = try await client.createContainer(body)
        let committed: Result<Void, any Error>
        do {
            let response = try await client.send(
                .POST, "/commit",
                query: [
                    ("container", container), ("repo", name), ("tag", tag),
                    ("changes", #"ENTRYPOINT ["/bin/echo", "from-image"]"#), ("changes", #"CMD ["image-cmd"]"#),
                ])
            try response.expect(201, 200)
            committed = .success(())
        } catch {
            committed = .failure(error)
        }
        try await client.removeContainer(container)
        try committed.get()
        return "\(name):\(tag)"
    }
}
