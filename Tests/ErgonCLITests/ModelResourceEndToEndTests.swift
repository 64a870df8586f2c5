import Crypto
import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing
import VastSimulator

/// Vast mode's resources with the real arkindex-base-worker: the agent fetches the task's
/// model into its cache before ordering, announces it with `ARKINDEX_MODEL_VERSION` and
/// `ARKINDEX_MODEL_DIR`, and serves it through `RetrieveModelVersion`, `.tar.zst` as
/// `application/zstd`, which the worker's own bootstrap downloads and unpacks.
@Suite("Task resources through the worker API (vast mode, real arkindex-base-worker)", .arkindexWorker, .serialized)
struct ModelResourceEndToEndTests {
    static let bootstrapScript = """
        import os
        from pathlib import Path
        from arkindex import ArkindexClient, options_from_env
        from arkindex_worker import bootstrap
        client = ArkindexClient(**options_from_env())
        bootstrap.run(client, Path(os.environ["PONOS_DATA"]))
        print("bootstrap done")
        """

    @Test("the worker's bootstrap fetches and unpacks the .tar.zst model; other resources are listed with download URLs")
    func modelThroughRetrieveModelVersion() async throws {
        try await withVastSimulator { sim in
            let dir = try CLITests.directory()
            let files = dir + "/files"
            try FileManager.default.createDirectory(atPath: files + "/model", withIntermediateDirectories: true)
            let weights = Data((0..<700_000).map { _ in UInt8.random(in: 0...255) })
            try weights.write(to: URL(fileURLWithPath: files + "/model/weights.bin"))
            try CLITests.write("{\"classes\": 3}\n", to: files + "/model/config.json")
            try ResourceAgentTests.shell("tar -C \(files)/model -cf - weights.bin config.json | zstd -q -o \(files)/model.tar.zst")
            try CLITests.write("side notes\n", to: files + "/notes.txt")
            let archive = try Data(contentsOf: URL(fileURLWithPath: files + "/model.tar.zst"))
            let digest = SHA256.hash(data: archive).map { String(format: "%02x", $0) }.joined()
            let server = try LocalFileServer(root: files)
            defer { server.stop() }

            let port = try freeLoopbackPort()
            let api = "http://127.0.0.1:\(port)/api/v1/"
            let config = dir + "/agent.yaml"
            try CLITests.write("""
                agent: {id: model-e2e}
                mode: vast
                data_dir: \(dir)/data
                scheduler: {poll_interval: 1s}
                vast_api: {url: "\(sim.baseURL)", api_key: \(sim.apiKey)}
                server: {listen: "127.0.0.1:\(port)", public_url: "http://127.0.0.1:\(port)"}
                """, to: config)
            let modelDir = dir + "/worker-model"
            try CLITests.write("""
                name: model
                tasks:
                  - slug: htr
                    image: "example/worker:1"
                    entrypoint: []
                    command: [worker]
                    env: {SIM_RUN_SECONDS: "3600", SIM_LOAD_SECONDS: "0"}
                    resources:
                      - {type: HTTP, url: "\(server.baseURL)/model.tar.zst", target: \(modelDir), model: true, unpack: true, sha256: \(digest)}
                      - {type: HTTP, url: "\(server.baseURL)/notes.txt", target: /res/notes.txt}
                """, to: dir + "/wf.yaml")
            let submitted = try ErgonBinary.run(["submit", dir + "/wf.yaml", "--config", config])
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
            defer { agent.terminate(); agent.waitUntilExit() }
            let agentLog = { (try? String(contentsOfFile: dir + "/agent.log", encoding: .utf8)) ?? "" }
            let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
            let task = try #require(try await queue.tasks(.all).first)
            let id = task.id.uuidString.lowercased()

            let env = try await WorkerAPIEndToEndTests.instanceEnvironment(sim, taskID: id, log: agentLog)
            #expect(env["ARKINDEX_MODEL_VERSION"] == "\(id).0")
            #expect(env["ARKINDEX_MODEL_DIR"] == modelDir)
            #expect(server.requests(of: "model.tar.zst") == 1, "fetched into the agent's cache before the order")

            // The worker's own bootstrap: RetrieveModelVersion, then the s3_url, unpacked.
            var run = env
            run["PONOS_DATA"] = dir + "/worker-data"
            let bootstrap = try ArkindexWorkerPython.run(Self.bootstrapScript, environment: run)
            #expect(bootstrap.status == 0, "\(bootstrap.output)\n--- agent:\n\(agentLog())")
            #expect(bootstrap.output.contains("Extracting tar.zst archive"), "\(bootstrap.output)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: modelDir + "/weights.bin")) == weights)
            #expect(try String(contentsOfFile: modelDir + "/config.json", encoding: .utf8) == "{\"classes\": 3}\n")

            // The other resources, listed for the task with the agent's download URLs.
            let listed = try Self.curl(api + "task/\(id)/resources/", token: env["ARKINDEX_TASK_TOKEN"])
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]], "\(listed)")
            #expect(entries.map { $0["target"] as? String } == [modelDir, "/res/notes.txt"])
            #expect(entries.first?["content_type"] as? String == "application/zstd")
            #expect(!listed.contains(server.baseURL), "source URLs are not handed out")
            let notesURL = try #require(entries.last?["download_url"] as? String)
            #expect(try Self.curl(notesURL, token: nil) == "side notes\n")
            // Another token, or none, reads nothing.
            #expect(try WorkerAPIEndToEndTests.curlStatus(api + "modelversion/\(id).0/", token: nil) == 401)

            sim.advance(by: 4000)
            try await WorkerAPIEndToEndTests.waitForState(queue, task.id, .completed, log: agentLog)
            #expect(try WorkerAPIEndToEndTests.curlStatus(notesURL, token: nil) == 403, "a download URL dies with its attempt")
            let cache = try ErgonBinary.run(["cache", "list", "--json", "--config", config])
            let json = try JSONSerialization.jsonObject(with: Data(cache.stdout.utf8)) as? [String: Any]
            let cached = json?["resources"] as? [[String: Any]] ?? []
            #expect(cached.count == 2, "\(cache.stdout)")
            #expect(cached.allSatisfy { ($0["in_use"] as? [String])?.isEmpty == true }, "\(cache.stdout)")
        }
    }

    /// The body of a GET, with `Authorization: Ponos <token>` when given.
    static func curl(_ url: String, token: String?) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s"] + (token.map { ["-H", "Authorization: Ponos \($0)"] } ?? []) + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
