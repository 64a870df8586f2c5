import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

/// `--docker` mode: each instance runs its image for real on the local engine.
@Suite(.dockerEngine) struct SimulatorDockerTests {
    static func options() -> SimulatorOptions {
        var options = SimulatorOptions.forTesting()
        options.dockerSocket = DockerTestEngine.socketPath
        return options
    }

    /// The engine's containers of instance `id` of the simulator `sim` (other tests' simulators
    /// share the engine and number their instances alike).
    static func containers(_ sim: VastSimulatorHarness, _ id: Int) throws -> [JSONValue] {
        let labels = #"{"label":["ergon-vast-sim=\#(id)","ergon-vast-sim.server=\#(sim.server.containerTag)"]}"#
        let filters = labels.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = try #require(DockerTestEngine.get("/containers/json?all=1&filters=\(filters)", socketPath: DockerTestEngine.socketPath))
        return (try JSONValue.decode(Data(answer.body.utf8))).arrayValue ?? []
    }

    /// Polls the instance until `condition` holds (real containers take real time).
    static func wait(
        _ client: SimulatorTestClient, _ id: Int, timeout: Duration = .seconds(30), until condition: (JSONValue) -> Bool
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let instance = try await client.show(id)
            if condition(instance) { return instance }
            guard ContinuousClock.now < deadline else {
                throw SimulatorTestFailure("instance \(id) never got there: \(instance["actual_status"] ?? nil) \(instance["status_msg"] ?? nil)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func anInstanceRunsItsImageWithOnstartAsTheEntrypoint() async throws {
        try await withVastSimulator(Self.options()) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest([
                "image": .string(DockerTestEngine.image), "onstart": "/bin/sh", "env": ["FOO": "bar"],
                "args": ["-c", "echo out-$FOO id=$CONTAINER_ID; echo err >&2; exit 3"],
            ])
            let exited = try await Self.wait(client, id) { $0["actual_status"] == "exited" }
            #expect(exited["status_msg"]?.stringValue?.contains("3") == false)
            let (text, _) = try await client.logs(id)
            #expect(text.contains("out-bar id=\(id)\n"))
            #expect(text.contains("err\n"))
            // The two streams are read apart, so their relative order is not certain.
            let (tail, _) = try await client.logs(id, tail: 1)
            #expect(tail == "err\n" || tail == "out-bar id=\(id)\n")

            let containers = try Self.containers(sim, id)
            #expect(containers.count == 1)
            let containerID = try #require(containers.first?["Id"]?.stringValue)
            let inspect = try #require(DockerTestEngine.get("/containers/\(containerID)/json", socketPath: DockerTestEngine.socketPath))
            let details = try JSONValue.decode(Data(inspect.body.utf8))
            #expect(details["HostConfig"]?["NetworkMode"] == "host")
            #expect(details["Config"]?["Entrypoint"] == ["/bin/sh"])

            #expect(try await client.delete("/api/v0/instances/\(id)/").status == 200)
            let deadline = ContinuousClock.now + .seconds(20)
            while try !Self.containers(sim, id).isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try Self.containers(sim, id).isEmpty)
        }
    }

    @Test func withoutOnstartTheImagesEntrypointRunsTheArgs() async throws {
        try await withVastSimulator(Self.options()) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest(["image": .string(DockerTestEngine.image), "args": ["echo", "plain"]])
            _ = try await Self.wait(client, id) { $0["actual_status"] == "exited" }
            #expect(try await client.logs(id).text == "plain\n")
        }
    }

    @Test func aContainerThatCannotStartSitsInCreated() async throws {
        try await withVastSimulator(Self.options()) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest(["image": .string(DockerTestEngine.image), "onstart": "/no/such/binary", "args": []])
            let instance = try await Self.wait(client, id) { $0["actual_status"] == "created" }
            #expect(instance["status_msg"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func stoppingKeepsTheOutputAndShutdownRemovesEveryContainer() async throws {
        var running = 0
        var simulator: VastSimulatorHarness?
        try await withVastSimulator(Self.options()) { sim in
            simulator = sim
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest([
                "image": .string(DockerTestEngine.image), "onstart": "/bin/sh", "args": ["-c", "echo started; sleep 300"],
            ])
            running = id
            _ = try await Self.wait(client, id) { $0["actual_status"] == "running" }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await !client.logs(id).text.contains("started"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await client.put("/api/v0/instances/\(id)/", ["state": "stopped"]).json["success"] == true)
            #expect(try await client.show(id)["actual_status"] == "stopped")
            #expect(try await client.logs(id).text.contains("started\n"))
            #expect(try await client.put("/api/v0/instances/\(id)/", ["state": "running"]).json["success"] == true)
            _ = try await Self.wait(client, id) { $0["actual_status"] == "running" }
            #expect(try Self.containers(sim, id).count == 1)
        }
        #expect(try Self.containers(try #require(simulator), running).isEmpty)
    }
}
