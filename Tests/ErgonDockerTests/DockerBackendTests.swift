import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

@testable import ErgonDocker

/// The Docker backend against the real engine (see `DockerTestEngine`).
@Suite("DockerBackend on the real engine", .dockerEngine)
struct DockerBackendTests {
    let image = DockerTestEngine.image

    @Test func theTaskGetsItsEnvironmentAndData() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            var spec = TaskSpec(
                slug: "env-check", image: image,
                command: .shell("env; echo \"current=$(readlink /data/current)\"; cat /data/current/input.txt; echo result > /data/current/out.txt"),
                env: ["MY_VAR": "hello world"], workDir: "/tmp")
            spec.env["PONOS_TASK"] = "overridden-by-the-contract"
            let request = try DockerFixtures.request(spec, agentID: agent, attempt: 2)
            let taskID = request.task.id.uuidString.lowercased()
            try "from the host\n".write(toFile: "\(request.dataDirectory)/\(taskID)/input.txt", atomically: true, encoding: .utf8)
            let id = try await backend.launch(request) { _ in }.id
            let output = try await DockerFixtures.readAll(of: id, backend: backend)
            let status = try await DockerFixtures.waitForEnd(of: id, backend: backend)
            #expect(status == .exited(code: 0))
            let lines = Set(output.split(separator: "\n").map(String.init))
            #expect(lines.contains("PONOS_TASK=\(taskID)"))
            #expect(lines.contains("PONOS_DATA=/data"))
            #expect(lines.contains("ERGON_TASK_ID=\(taskID)"))
            #expect(lines.contains("ERGON_TASK_SLUG=env-check"))
            #expect(lines.contains("ERGON_WORKFLOW_ID=\(request.workflow.id.uuidString.lowercased())"))
            #expect(lines.contains("ERGON_ATTEMPT=2"))
            #expect(lines.contains("TASK_PARENTS={}"))
            #expect(lines.contains("MY_VAR=hello world"))
            #expect(lines.contains("PWD=/tmp"))
            #expect(lines.contains("current=\(taskID)"))
            #expect(lines.contains("from the host"))
            let written = try String(contentsOfFile: "\(request.dataDirectory)/\(taskID)/out.txt", encoding: .utf8)
            #expect(written == "result\n")
            try await backend.destroy(instanceID: id)
        }
    }

    @Test(arguments: [0, 3, 255])
    func exitCodesAreReported(code: Int) async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "exit", image: image, command: .exec(["sh", "-c", "exit \(code)"])), agentID: agent)
            let id = try await backend.launch(request) { _ in }.id
            #expect(try await DockerFixtures.waitForEnd(of: id, backend: backend) == .exited(code: code))
            let listed = try #require(try await backend.list().first { $0.id == id })
            #expect(listed.label == request.label)
            #expect(listed.stateText == "exited")
            #expect(listed.image == image)
        }
    }

    @Test func stdoutAndStderrAreCompleteIncludingTheLastLine() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let script = "echo out-1; echo err-1 >&2; echo out-2; printf 'err-last-no-newline' >&2; sleep 0.2; printf 'out-last-no-newline'"
            let request = try DockerFixtures.request(
                TaskSpec(slug: "streams", image: image, command: .shell(script)), agentID: agent)
            let id = try await backend.launch(request) { _ in }.id
            let output = try await DockerFixtures.readAll(of: id, backend: backend)
            // The engine emits a line without a newline only when its stream closes, so the two last
            // lines come out at exit, in either order, each whole.
            let pieces = output.replacingOccurrences(of: "err-last-no-newline", with: "\nerr-last-no-newline\n")
                .replacingOccurrences(of: "out-last-no-newline", with: "\nout-last-no-newline\n")
                .split(separator: "\n").map(String.init).sorted()
            #expect(pieces == ["err-1", "err-last-no-newline", "out-1", "out-2", "out-last-no-newline"])
            #expect(output.range(of: "out-1")!.lowerBound < output.range(of: "out-2")!.lowerBound)
        }
    }

    @Test func incrementalReadsLoseAndRepeatNothing() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let count = 4000
            let script = """
                i=0; while [ $i -lt \(count) ]; do i=$((i+1)); \
                if [ $((i % 7)) -eq 0 ]; then echo "line-$i" >&2; else echo "line-$i"; fi; \
                if [ $((i % 250)) -eq 0 ]; then sleep 0.5; fi; done; printf 'the-end'
                """
            // 8 s of output: on a loaded engine the first read once came after a 3 s run had ended.
            let request = try DockerFixtures.request(TaskSpec(slug: "many", image: image, command: .shell(script)), agentID: agent)
            let id = try await backend.launch(request) { _ in }.id
            var cursor: String?
            var bytes: [UInt8] = []
            var reads = 0
            var nonEmptyReads = 0
            var ended = false
            while true {
                let read = try await backend.readLogs(instanceID: id, cursor: cursor)
                cursor = read.cursor
                reads += 1
                if !read.bytes.isEmpty { nonEmptyReads += 1 }
                bytes += read.bytes
                if ended && read.bytes.isEmpty { break }
                if !ended, case .exited = try await backend.list().first(where: { $0.id == id })?.status {
                    ended = true
                    continue
                }
                try await Task.sleep(for: .milliseconds(50))
                #expect(reads < 2000)
                if reads >= 2000 { break }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasSuffix("\nthe-end"))
            let lines = text.split(separator: "\n").dropLast().map(String.init)
            #expect(lines.count == count)
            #expect(Set(lines).count == count)
            #expect(Set(lines) == Set((1...count).map { "line-\($0)" }))
            // Each stream keeps its own order.
            let numbers = lines.map { Int($0.dropFirst(5))! }
            #expect(numbers.filter { $0 % 7 == 0 } == numbers.filter { $0 % 7 == 0 }.sorted())
            #expect(numbers.filter { $0 % 7 != 0 } == numbers.filter { $0 % 7 != 0 }.sorted())
            #expect(nonEmptyReads > 1, "the log should have been read while it grew")
            // Reading again from the final cursor gives nothing; from the start gives everything.
            #expect(try await backend.readLogs(instanceID: id, cursor: cursor).bytes.isEmpty)
            #expect(try await backend.readLogs(instanceID: id, cursor: nil).bytes == bytes)
        }
    }

    @Test func destroyRemovesTheContainerAndIsIdempotent() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "sleeper", image: image, command: .exec(["sleep", "300"])), agentID: agent)
            let id = try await backend.launch(request) { _ in }.id
            #expect(try await backend.list().first { $0.id == id }?.status == .running)
            try await backend.destroy(instanceID: id)
            #expect(try await backend.client.inspectContainer(id) == nil)
            #expect(try await backend.list().isEmpty)
            try await backend.destroy(instanceID: id)
            try await backend.destroy(instanceID: "0123456789ab-no-such-container")
        }
    }

    @Test func launchRecordsTheIdBeforeStarting() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "record", image: image, command: .exec(["sleep", "30"])), agentID: agent)
            let client = backend.client
            let recorded = RecordedID()
            let id = try await backend.launch(request) { launched in
                let state = try await client.inspectContainer(launched.id)?.state.status
                await recorded.set(launched.id, stateAtRecord: state)
            }.id
            #expect(await recorded.id == id)
            #expect(await recorded.stateAtRecord == "created")
            try await backend.destroy(instanceID: id)
        }
    }

    @Test func aNewBackendReadoptsARunningContainerFromItsLabels() async throws {
        // The container must outlive a second client's start-up on a loaded machine: 8 s was once
        // not enough while the whole suite ran (the test took 41 s), so it sleeps 30.
        let agent = DockerFixtures.agentID()
        let settings = DockerFixtures.settings()
        let request = try DockerFixtures.request(
            TaskSpec(slug: "survivor", image: image, command: .shell("echo before; sleep 30; echo after; exit 4")),
            agentID: agent, attempt: 3)
        let id = try await DockerBackend.withBackend(settings: settings, agentID: agent) { first in
            try await first.launch(request) { _ in }.id
        }
        // The first backend and its client are gone: a restarted agent knows only the labels.
        try await DockerBackend.withBackend(settings: settings, agentID: agent) { second in
            do {
                let listed = try await second.list()
                #expect(listed.count == 1)
                let instance = try #require(listed.first)
                #expect(instance.id == id)
                #expect(instance.label == InstanceLabel(agentID: agent, taskID: request.task.id, attempt: 3))
                #expect(instance.status == .running)
                #expect(try await DockerFixtures.waitForEnd(of: id, backend: second, timeout: .seconds(120)) == .exited(code: 4))
                #expect(try await DockerFixtures.readAll(of: id, backend: second) == "before\nafter\n")
                try await second.destroy(instanceID: id)
                #expect(try await second.list().isEmpty)
            } catch {
                await DockerFixtures.removeContainers(of: agent, client: second.client)
                throw error
            }
        }
    }

    @Test func anotherAgentsContainersAreNotListed() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "mine", image: image, command: .exec(["true"])), agentID: agent)
            let id = try await backend.launch(request) { _ in }.id
            let other = DockerBackend(
                client: backend.client, settings: backend.settings, agentID: DockerFixtures.agentID())
            #expect(try await other.list().isEmpty)
            #expect(try await backend.list().map(\.id) == [id])
        }
    }

    @Test func anUnreachableEngineIsNamedInTheMessage() async throws {
        let socket = "/tmp/ergon-no-such-dir-\(UUID().uuidString.lowercased())/docker.sock"
        try await DockerBackend.withBackend(settings: DockerFixtures.settings(socket: socket), agentID: "x") { backend in
            let prepared = try await #require(throws: BackendError.self) { try await backend.prepare() }
            #expect(prepared.kind == .unreachable)
            #expect(prepared.message.contains("cannot reach the Docker engine at \(socket)"))
            #expect(prepared.message.contains("set docker.socket in the config"))
            let listed = try await #require(throws: BackendError.self) { _ = try await backend.list() }
            #expect(listed.kind == .unreachable)
            #expect(listed.message.contains(socket))
        }
        // A socket path where nothing listens: the connection is refused.
        let directory = try DockerFixtures.temporaryDirectory()
        let stale = directory + "/docker.sock"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data()))
        try await DockerBackend.withBackend(settings: DockerFixtures.settings(socket: stale), agentID: "x") { backend in
            let prepared = try await #require(throws: BackendError.self) { try await backend.prepare() }
            #expect(prepared.kind == .unreachable)
            #expect(prepared.message.contains("cannot reach the Docker engine at \(stale): Connection refused"))
        }
    }

    @Test func prepareSucceedsOnTheRealEngine() async throws {
        try await DockerFixtures.withBackend { backend, _ in
            try await backend.prepare()
            let version = try await backend.client.apiVersion()
            #expect(version <= DockerEngineClient.maximumAPIVersion)
            #expect(version >= DockerAPIVersion(major: 1, minor: 24))
        }
    }

    @Test func changesSignalAnExitAtOnce() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let request = try DockerFixtures.request(
                TaskSpec(slug: "short", image: image, command: .shell("sleep 1; exit 2")), agentID: agent)
            let exited = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var iterator = backend.changes().makeAsyncIterator()
                    // The first signal says the event stream is connected.
                    guard await iterator.next() != nil else { return false }
                    let id = try await backend.launch(request) { _ in }.id
                    while await iterator.next() != nil {
                        if try await backend.list().first(where: { $0.id == id })?.status == .exited(code: 2) {
                            return true
                        }
                    }
                    return false
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            #expect(exited, "an exit should be signalled by the event stream")
        }
    }

    @Test func changesEndsWhenCancelled() async throws {
        try await DockerFixtures.withBackend { backend, _ in
            // Wait for the first signal (sent on connecting) rather than a fixed time: under a
            // loaded machine connecting can take longer than any guess.
            let connected = WakeSignal()
            let consumer = Task {
                var count = 0
                for await _ in backend.changes() {
                    count += 1
                    connected.signal()
                }
                return count
            }
            await connected.wait(timeout: .seconds(30))
            consumer.cancel()
            let ended = await withTaskGroup(of: Int?.self) { group in
                group.addTask { await consumer.value }
                group.addTask {
                    try? await Task.sleep(for: .seconds(10))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            let count = try #require(ended, "the stream should end once its consumer is cancelled")
            #expect(count >= 1, "connecting to the event stream signals once")
        }
    }

    @Test func workflowVolumesAreSharedAndCleanedUp() async throws {
        try await DockerFixtures.withBackend { backend, agent in
            let workflow = WorkflowRecord(id: UUID(), name: "vol", createdAt: Date(), volumes: ["shared"])
            let mount = [VolumeMount(name: "shared", dest: "/shared")]
            let writer = try DockerFixtures.request(
                TaskSpec(slug: "w", image: image, command: .shell("echo kept > /shared/file"), volumes: mount),
                agentID: agent, workflow: workflow)
            let reader = try DockerFixtures.request(
                TaskSpec(slug: "r", image: image, command: .shell("cat /shared/file"), volumes: mount),
                agentID: agent, workflow: workflow)
            let first = try await backend.launch(writer) { _ in }.id
            #expect(try await DockerFixtures.waitForEnd(of: first, backend: backend) == .exited(code: 0))
            try await backend.destroy(instanceID: first)
            let second = try await backend.launch(reader) { _ in }.id
            #expect(try await DockerFixtures.readAll(of: second, backend: backend) == "kept\n")
            try await backend.destroy(instanceID: second)
            let label = "\(InstanceLabel.dockerWorkflowKey)=\(workflow.id.uuidString.lowercased())"
            #expect(try await backend.client.listVolumes(labels: [label]) == [DockerBackend.volumeName(workflowID: workflow.id, name: "shared")])
            try await backend.cleanUp(workflow: workflow)
            #expect(try await backend.client.listVolumes(labels: [label]).isEmpty)
            try await backend.cleanUp(workflow: workflow)
        }
    }
}
