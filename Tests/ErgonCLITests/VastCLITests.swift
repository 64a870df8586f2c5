import AsyncHTTPClient
import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import ErgonVast
import Foundation
import Testing

/// `ergon vast-sim` as a separate process, its port read from its first line.
final class SimulatorProcess: Sendable {
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(_ arguments: [String], log: String) throws {
        let process = try ErgonBinary.start(["vast-sim", "--port", "0", "--log-level", "warning"] + arguments)
        let pipe = process.standardOutput as! Pipe
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "http://127.0.0.1:"),
            let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw CLIFailure("ergon vast-sim did not say where it listens: \(text)")
        }
        self.process = process
        self.port = port
    }

    /// `GET /__sim/stats`, read with curl (Foundation on Linux reads no http URL directly).
    func stats() throws -> JSONValue {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-sf", url + "/__sim/stats"]
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard curl.terminationStatus == 0 else { throw CLIFailure("GET /__sim/stats failed (curl \(curl.terminationStatus))") }
        return try JSONValue.decode(data)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("ergon offers and vast mode from the command line", .serialized)
struct VastCLITests {
    static func vastConfig(in dir: String, url: String, filters: String = "", extra: String = "") throws -> String {
        let path = dir + "/vast.yaml"
        try CLITests.write("""
            agent:
              id: vast-cli
            mode: vast
            data_dir: \(dir)/data
            scheduler:
              poll_interval: 1s
            vast_api:
              url: \(url)
              api_key: ${TEST_VAST_KEY:-sim-key}
              offer_filters: "\(filters)"
            \(extra)
            server:
              listen: 127.0.0.1:0
            """, to: path)
        return path
    }

    @Test("config check: a bad offer filter names the file, the key and the token, exit 2")
    func badFilter() throws {
        let dir = try CLITests.directory()
        let path = try Self.vastConfig(in: dir, url: "http://127.0.0.1:1", filters: "gpu_nme=RTX_4090 reliability>0.9")
        let result = try ErgonBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("vast.yaml: vast_api.offer_filters:"))
        #expect(result.stderr.contains("gpu_nme"))
        #expect(result.stderr.contains("gpu_name"))
        let twoGPUs = try Self.vastConfig(in: dir, url: "http://127.0.0.1:1", filters: "num_gpus=2")
        let refused = try ErgonBinary.run(["config", "check", twoGPUs])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("num_gpus"))
    }

    @Test("submit in vast mode refuses volumes and bad task filters, and writes nothing")
    func submitRefusesWhatVastCannotDo() throws {
        let dir = try CLITests.directory()
        let config = try Self.vastConfig(in: dir, url: "http://127.0.0.1:1")
        let nosana = dir + "/job.json"
        try CLITests.write("""
            {"version": "0.1", "type": "container", "ops": [
              {"type": "container/create-volume", "id": "vol", "args": {"name": "shared"}},
              {"type": "container/run", "id": "a", "args": {"image": "busybox", "cmd": ["echo"],
               "volumes": [{"name": "shared", "dest": "/shared"}]}}]}
            """, to: nosana)
        let refused = try ErgonBinary.run(["submit", nosana, "--config", config])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("vast mode cannot"))
        let badFilter = dir + "/wf.yaml"
        try CLITests.write("""
            name: w
            tasks:
              - {slug: a, image: busybox, entrypoint: [], command: [echo], vast: {offer_filters: "gpu_rma>=24"}}
            """, to: badFilter)
        let bad = try ErgonBinary.run(["submit", badFilter, "--dry-run"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("tasks[0] (a): vast.offer_filters"))
        #expect(bad.stderr.contains("gpu_ram"))
        let listed = try ErgonBinary.run(["tasks", "list", "--json", "--config", config])
        #expect(listed.status == 0)
        #expect(try JSONValue.decode(Data(listed.stdout.utf8)).arrayValue?.isEmpty == true, "\(listed.stdout)")
    }

    @Test("submit in vast mode refuses a task whose image has no /bin/sh, read from its registry; --skip-image-check queues it")
    func submitRefusesAShellLessImage() async throws {
        let registry = ProcessInfo.processInfo.environment["ERGON_REGISTRY_ADDR"] ?? "127.0.0.1:5000"
        var request = HTTPClientRequest(url: "http://\(registry)/v2/ergon-test/noshell/manifests/1")
        request.headers.add(name: "Accept", value: "application/vnd.docker.distribution.manifest.v2+json")
        let found = (try? await HTTPClient.shared.execute(request, timeout: .seconds(3)).status.code) == 200
        guard found else {
            if ProcessInfo.processInfo.environment["ERGON_REQUIRE_REGISTRY"] == "1" {
                Issue.record("ERGON_REQUIRE_REGISTRY=1 but \(registry) has no ergon-test/noshell:1 (Scripts/lib/registry.sh: ergon_registry_shell_images)")
            }
            return
        }
        let dir = try CLITests.directory()
        let config = try Self.vastConfig(in: dir, url: "http://127.0.0.1:1", extra: "  acceptance_check: nvidia-smi")
        let file = dir + "/wf.yaml"
        try CLITests.write("""
            name: w
            tasks:
              - {slug: good, image: "\(registry)/ergon-test/entry:1", command: [run]}
              - {slug: bare, image: "\(registry)/ergon-test/noshell:1", command: [run]}
            """, to: file)
        let refused = try ErgonBinary.run(["submit", file, "--config", config])
        #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains(
            "wf.yaml: tasks[1] (bare): image \(registry)/ergon-test/noshell:1 has no usable shell (no /bin/sh across its 1 layer): it asks for an acceptance check (vast_api.acceptance_check)"),
            "\(refused.stderr)")
        #expect(!refused.stderr.contains("tasks[0]"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was queued"))
        let empty = try ErgonBinary.run(["tasks", "list", "--json", "--config", config])
        #expect(try JSONValue.decode(Data(empty.stdout.utf8)).arrayValue?.isEmpty == true, "\(empty.stdout)")

        // An image whose registry cannot be read is queued with a warning.
        try CLITests.write("name: w\ntasks:\n  - {slug: far, image: \"127.0.0.1:1/ergon-test/x:1\", command: [run]}\n", to: file)
        let warned = try ErgonBinary.run(["submit", file, "--config", config])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: \(file): cannot tell whether image 127.0.0.1:1/ergon-test/x:1 has /bin/sh"), "\(warned.stderr)")

        try CLITests.write("name: w\ntasks:\n  - {slug: bare, image: \"\(registry)/ergon-test/noshell:1\", command: [run]}\n", to: file)
        let skipped = try ErgonBinary.run(["submit", file, "--skip-image-check", "--config", config])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        let listed = try ErgonBinary.run(["tasks", "list", "--json", "--config", config])
        #expect(try JSONValue.decode(Data(listed.stdout.utf8)).arrayValue?.count == 2, "\(listed.stdout)")
    }

    @Test("offers --print-request: the exact search body, with no config and no key")
    func printRequest() throws {
        let dir = try CLITests.directory()
        let result = try ErgonBinary.run(
            ["offers", "--print-request", "--filter", "gpu_name in [RTX_4090,RTX_3090] reliability>0.98 verified=any", "--disk-gb", "40"],
            in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let body = try JSONValue.decode(Data(result.stdout.utf8))
        #expect(body["gpu_name"] == ["in": ["RTX 4090", "RTX 3090"]])
        #expect(body["verified"] == nil)
        #expect(body["external"] == ["eq": false])
        #expect(body["rented"] == ["eq": false])
        #expect(body["allocated_storage"] == 40)
        #expect(body["order"] == [["dph_total", "asc"]])
        #expect(body["num_gpus"] != nil)
        let bad = try ErgonBinary.run(["offers", "--print-request", "--filter", "reliability=>0.9"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--filter"))
    }

    @Test("offers against the simulator: a ranked table, the choice, the funnel, and nothing ordered")
    func offersAgainstTheSimulator() throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "500", "--seed", "3"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try Self.vastConfig(in: dir, url: sim.url, filters: "reliability>0.95 gpu_ram>=16", extra: "  max_dph: 2")
        let table = try ErgonBinary.run(["offers", "--config", config, "--explain", "--limit", "5"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("would order offer"))
        #expect(table.stdout.contains("offers with room for 20 GB of disk, before any filter term"))
        #expect(table.stdout.contains("reliability gt"))
        #expect(table.stdout.contains("dph_total <= 2 (vast_api.max_dph)"))
        let json = try ErgonBinary.run(["offers", "--config", config, "--json"])
        #expect(json.status == 0)
        let parsed = try JSONValue.decode(Data(json.stdout.utf8))
        let rows = parsed["offers"]?.arrayValue ?? []
        #expect(!rows.isEmpty)
        let prices = rows.compactMap { $0["dph"]?.doubleValue }
        #expect(prices == prices.sorted())
        #expect(rows.allSatisfy { ($0["reliability"]?.doubleValue ?? 0) > 0.95 })
        #expect(parsed["chosen"]?["id"] == rows.first?["id"])
        #expect(try sim.stats()["created_instances"] == 0)
    }

    @Test("instances reap: destroys the orphans of the queue's agents, keeps claimed instances and those of unknown agents")
    func reap() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "50", "--seed", "2"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try Self.vastConfig(in: dir, url: sim.url)
        let file = dir + "/wf.yaml"
        try CLITests.write("name: w\ntasks:\n  - {slug: live, image: \"ergon/sim-worker:1\", entrypoint: [], command: [worker]}\n", to: file)
        #expect(try ErgonBinary.run(["submit", file, "--config", config]).status == 0)
        // The task is claimed as an agent would before ordering: its attempt claims the label.
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let task = try #require(try await queue.tasks(.all).first)
        let held = try #require(try await queue.claim(taskID: task.id, agentID: "vast-cli", gpu: nil, at: Date()))
        let labels = [
            "live": InstanceLabel(agentID: "vast-cli", taskID: task.id, attempt: held.attempt.number).vastLabel,
            "orphan": InstanceLabel(agentID: "vast-cli", taskID: UUID(), attempt: 1).vastLabel,
            "stranger": InstanceLabel(agentID: "another-queue", taskID: UUID(), attempt: 1).vastLabel,
        ]
        let ids = try await VastClient.withClient(baseURL: URL(string: sim.url)!, apiKey: "sim-key") { client in
            let selection = try OfferSelection.make(agentFilters: "", maxDPH: nil, diskGB: 20)
            let offers = selection.rank(try await client.searchOffers(body: selection.requestBody))
            var ids: [String: Int] = [:]
            for (index, name) in labels.keys.sorted().enumerated() {
                let created = try await client.createInstance(
                    offerID: offers[index].id, request: VastCreateRequest(image: "ergon/sim-worker:1", disk: 20, label: labels[name]!))
                ids[name] = created.id
            }
            return ids
        }
        let dry = try ErgonBinary.run(["instances", "reap", "--dry-run", "--config", config])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("orphan \(ids["orphan"]!) (\(labels["orphan"]!)"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("\(ids["live"]!)") && !dry.stdout.contains("\(ids["stranger"]!)"))
        #expect(try sim.stats()["live_instances"]?.intValue == 3, "a dry run destroys nothing")

        let reaped = try ErgonBinary.run(["instances", "reap", "--config", config])
        #expect(reaped.status == 0, "\(reaped.stderr)")
        #expect(reaped.stdout.contains("destroyed orphan \(ids["orphan"]!)"), "\(reaped.stdout)")
        #expect(try sim.stats()["live_instances"]?.intValue == 2)
        let again = try ErgonBinary.run(["instances", "reap", "--config", config])
        #expect(again.stdout.contains("no orphans among the instances of vast-cli"), "\(again.stdout)")
    }

    @Test("offers --explain: a machine with failures on record is left out, and the line says until when and why")
    func excludedMachine() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "300", "--seed", "5"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try Self.vastConfig(in: dir, url: sim.url, filters: "reliability>0.95")
        let listed = try ErgonBinary.run(["offers", "--config", config, "--json", "--limit", "5"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let cheapest = try #require(try JSONValue.decode(Data(listed.stdout.utf8))["offers"]?.arrayValue?.first)
        let machine = try #require(cheapest["machine"]?.intValue)
        // What the agent records when a host fails it twice.
        let record = HostReputation(path: HostReputation.path(cacheDirectory: dir + "/data/cache/vast-cli"))
        await record.record(machine: String(machine), .init(kind: .failedStart, at: Date().addingTimeInterval(-8 * 3600), reason: "OCI runtime create failed"))
        await record.record(machine: String(machine), .init(kind: .provisioningTimeout, at: Date().addingTimeInterval(-600), reason: "still provisioning after 20m"))

        let explained = try ErgonBinary.run(["offers", "--config", config, "--explain"])
        #expect(explained.status == 0, "\(explained.stderr)")
        #expect(explained.stdout.contains("excluded machines (1, from the agent's host record):"), "\(explained.stdout)")
        #expect(explained.stdout.contains("machine \(machine) until "), "\(explained.stdout)")
        #expect(explained.stdout.contains("2 failures in 7d, the latest: still provisioning after 20m"), "\(explained.stdout)")
        #expect(explained.stdout.contains("machine_id notin [\(machine)]"), "the funnel shows the exclusion: \(explained.stdout)")
        #expect(!explained.stdout.contains("would order offer \(cheapest["id"]?.intValue ?? -1) "))
        let json = try JSONValue.decode(Data(try ErgonBinary.run(["offers", "--config", config, "--json"]).stdout.utf8))
        #expect(json["excluded_machines"]?.arrayValue?.first?["machine"]?.stringValue == String(machine))
        #expect(json["chosen"]?["machine"]?.intValue != machine)
    }

    @Test("offers --explain --image: a machine that ran the image, within prefer_warm_hosts_within, is chosen and the line says why")
    func warmHost() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "500", "--seed", "3"], log: dir + "/sim.log")
        defer { sim.stop() }
        let plain = try Self.vastConfig(in: dir, url: sim.url, filters: "reliability>0.95")
        let listed = try ErgonBinary.run(["offers", "--config", plain, "--json", "--limit", "20"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = try JSONValue.decode(Data(listed.stdout.utf8))["offers"]?.arrayValue ?? []
        let cheapest = try #require(rows.first)
        let cheapestDPH = try #require(cheapest["dph"]?.doubleValue)
        let warm = try #require(rows.first { ($0["dph"]?.doubleValue ?? 0) > cheapestDPH && $0["machine"] != cheapest["machine"] })
        let (warmOffer, warmMachine) = (try #require(warm["id"]?.intValue), try #require(warm["machine"]?.intValue))
        let margin = Int(((try #require(warm["dph"]?.doubleValue)) / cheapestDPH - 1) * 100) + 1
        let config = try Self.vastConfig(
            in: dir, url: sim.url, filters: "reliability>0.95", extra: "  prefer_warm_hosts_within: \(margin)%")
        // What the agent writes once an instance of the image ran on that machine.
        let image = "ghcr.io/org/worker:2"
        await WarmHosts(path: WarmHosts.path(cacheDirectory: dir + "/data/cache/vast-cli"))
            .record([(image: image, machine: warmMachine)], at: Date().addingTimeInterval(-7200))

        let explained = try ErgonBinary.run(["offers", "--config", config, "--explain", "--image", image])
        #expect(explained.status == 0, "\(explained.stderr)")
        #expect(explained.stdout.contains("warm host: offer \(warmOffer) on machine \(warmMachine) ran \(image) 2h ago; $"), "\(explained.stdout)")
        #expect(explained.stdout.contains("above the first choice $"))
        #expect(explained.stdout.contains("(within prefer_warm_hosts_within \(margin)%)"))
        #expect(explained.stdout.contains("would order offer \(warmOffer) on machine \(warmMachine)"))
        let noImage = try ErgonBinary.run(["offers", "--config", config, "--explain"])
        #expect(noImage.stdout.contains("warm hosts: not considered (no --image)"), "\(noImage.stdout)")
        #expect(noImage.stdout.contains("would order offer \(cheapest["id"]?.intValue ?? -1) "))
        let json = try ErgonBinary.run(["offers", "--config", config, "--json", "--image", image])
        let parsed = try JSONValue.decode(Data(json.stdout.utf8))
        #expect(parsed["warm_host"]?["offer_id"]?.intValue == warmOffer, "\(json.stdout)")
        #expect(parsed["warm_host"]?["cheapest_offer_id"] == cheapest["id"])
        #expect(parsed["chosen"]?["id"]?.intValue == warmOffer)
        #expect(try sim.stats()["created_instances"] == 0)
    }

    @Test("end to end: the agent in vast mode runs a parent and a child on `ergon vast-sim --docker`", .dockerEngine)
    func endToEnd() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--docker", "--docker-socket", DockerTestEngine.socketPath, "--load-seconds", "1"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try Self.vastConfig(in: dir, url: sim.url)
        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer { agent.terminate(); agent.waitUntilExit() }
        let image = DockerTestEngine.image
        let file = dir + "/wf.yaml"
        try CLITests.write("""
            name: vast-e2e
            tasks:
              - slug: parent
                image: \(image)
                entrypoint: []
                command: "echo parent says hi; exit 0"
              - slug: child
                image: \(image)
                entrypoint: []
                parents: [parent]
                command: ["sh", "-c", "echo bootstrap=$TASK_BOOTSTRAP parents=$TASK_PARENTS task=$PONOS_TASK"]
            """, to: file)
        let submitted = try ErgonBinary.run(["submit", file, "--wait", "--config", config])
        let agentLog = (try? String(contentsOfFile: dir + "/agent.log", encoding: .utf8)) ?? ""
        #expect(submitted.status == 0, "\(submitted.stdout)\(submitted.stderr)\n--- agent:\n\(agentLog)")
        let listed = try ErgonBinary.run(["tasks", "list", "--json", "--config", config])
        let tasks = try JSONValue.decode(Data(listed.stdout.utf8)).arrayValue ?? []
        let ids = Dictionary(uniqueKeysWithValues: tasks.compactMap { task -> (String, String)? in
            guard let slug = task["slug"]?.stringValue, let id = task["id"]?.stringValue else { return nil }
            return (slug, id)
        })
        let parentID = try #require(ids["parent"])
        let childID = try #require(ids["child"])
        let log = try ErgonBinary.run(["tasks", "logs", childID, "--config", config])
        #expect(log.stdout.contains("bootstrap=true parents={\"\(parentID)\":\"parent\"} task=\(childID)"), "\(log.stdout)")
        #expect(try ErgonBinary.run(["tasks", "logs", parentID, "--config", config]).stdout.contains("parent says hi"))
        let stats = try sim.stats()
        #expect(stats["live_instances"] == 0)
        #expect(stats["created_instances"] == 2)
    }
}
