import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

/// The official `vastai` 1.9.1 CLI, which keeps the simulator honest.
///
/// It is `$ERGON_VASTAI_BIN`, else `.build/vastai-venv/bin/vastai` in the package (made by
/// `Scripts/test`). Without one the test fails, unless `ERGON_ALLOW_NO_VASTAI=1`.
enum VastaiCLI {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var executable: URL? {
        if let path = ProcessInfo.processInfo.environment["ERGON_VASTAI_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let venv = packageRoot.appendingPathComponent(".build/vastai-venv/bin/vastai")
        return FileManager.default.isExecutableFile(atPath: venv.path) ? venv : nil
    }

    static var allowedMissing: Bool { ProcessInfo.processInfo.environment["ERGON_ALLOW_NO_VASTAI"] == "1" }

    static let missingMessage = """
        the official vastai 1.9.1 CLI is needed: set ERGON_VASTAI_BIN to its `vastai`, or create \
        \(packageRoot.path)/.build/vastai-venv with `python3 -m venv … && …/bin/pip install vastai==1.9.1` \
        (set ERGON_ALLOW_NO_VASTAI=1 to skip this test)
        """

    /// What one run printed.
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: JSONValue { (try? JSONValue.decode(Data(stdout.utf8))) ?? .null }
    }

    /// Runs `vastai --url URL --api-key KEY ARGS…` with a private home (the CLI writes its config
    /// and caches there) and no update check.
    static func run(_ cli: URL, _ sim: VastSimulatorHarness, _ arguments: [String], home: URL, apiKey: String? = nil) async throws -> Run {
        let process = Process()
        process.executableURL = cli
        process.arguments = ["--url", sim.baseURL, "--api-key", apiKey ?? sim.apiKey] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home.path
        environment["XDG_CONFIG_HOME"] = home.appendingPathComponent("config").path
        environment["XDG_CACHE_HOME"] = home.appendingPathComponent("cache").path
        environment["XDG_STATE_HOME"] = home.appendingPathComponent("state").path
        environment["VASTAI_NO_UPDATE_CHECK"] = "1"
        // Look-ups the CLI makes against its default server (GPU names) come here too.
        environment["VAST_URL"] = sim.baseURL
        environment["VAST_API_KEY"] = nil
        environment["COLUMNS"] = "200"
        process.environment = environment
        // Files rather than pipes: a large --raw answer would fill a pipe nobody reads yet.
        let out = home.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = home.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try outHandle.close()
        try errHandle.close()
        return Run(
            status: status, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }
}

@Suite struct SimulatorCLITests {
    @Test(.enabled(if: VastaiCLI.executable != nil || !VastaiCLI.allowedMissing, "ERGON_ALLOW_NO_VASTAI=1 and no vastai CLI"))
    func theOfficialCLIDrivesTheSimulator() async throws {
        guard let cli = VastaiCLI.executable else {
            Issue.record(Comment(rawValue: VastaiCLI.missingMessage))
            return
        }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-vastai-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        var options = SimulatorOptions.forTesting(offers: 400)
        options.logNotReadyCount = 2
        options.defaultProgram = SimulatedProgram(loadSeconds: 5, runSeconds: 20, lineInterval: 2)
        try await withVastSimulator(options) { sim in
            func vastai(_ arguments: String...) async throws -> VastaiCLI.Run {
                let run = try await VastaiCLI.run(cli, sim, arguments, home: home)
                #expect(run.status == 0, "vastai \(arguments.joined(separator: " ")): \(run.stderr)")
                return run
            }

            // Search: the CLI's default query (verified, not external, rentable) plus ours.
            let search = try await vastai("search", "offers", "num_gpus=1 gpu_name=RTX_4090", "--raw")
            let offers = try #require(search.json.arrayValue, Comment(rawValue: String(search.stdout.prefix(300)) + search.stderr))
            #expect(!offers.isEmpty)
            for offer in offers {
                #expect(offer["gpu_name"] == "RTX 4090" && offer["num_gpus"]?.intValue == 1)
                #expect(offer["verified"] == true && offer["external"] == false && offer["rentable"] == true)
            }
            // The default order is score, descending.
            let scores = offers.compactMap { $0["score"]?.doubleValue }
            #expect(scores == scores.sorted(by: >))
            let offerID = try #require(offers.first?["id"]?.intValue)

            // Create, with an env in the CLI's docker-options syntax and args as the command.
            let created = try await vastai(
                "create", "instance", String(offerID), "--image", "ergon-test/busybox:1", "--label", "cli-test",
                "--env", "-e FOO=bar -e SIM_EXIT_CODE=0", "--disk", "16", "--raw", "--args", "echo", "hello")
            #expect(created.json["success"] == true)
            let id = try #require(created.json["new_contract"]?.intValue, Comment(rawValue: created.stdout + created.stderr))

            let list = try await vastai("show", "instances", "--raw")
            let row = try #require(list.json.arrayValue?.first { $0["id"]?.intValue == id })
            #expect(row["label"] == "cli-test")
            #expect(row["actual_status"] == "loading")
            #expect(row["extra_env"] == ["FOO": "bar", "SIM_EXIT_CODE": "0"])
            #expect(row["image_args"] == ["echo", "hello"])
            #expect(row["disk_space"]?.doubleValue == 16)

            sim.advance(by: 30)
            let one = try await vastai("show", "instance", String(id), "--raw")
            #expect(one.json["id"]?.intValue == id)
            #expect(one.json["actual_status"] == "exited")

            // Logs: request_logs, then the result URL polled through its 404s.
            let logs = try await vastai("logs", String(id))
            #expect(logs.stdout.contains("[sim] instance \(id) line 10\n"))
            #expect(logs.stdout.contains("[sim] instance \(id) finished with status 0"))
            let tail = try await vastai("logs", String(id), "--tail", "1")
            #expect(tail.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[sim] instance \(id) finished with status 0")

            let label = try await vastai("label", "instance", String(id), "relabelled")
            #expect(label.stdout.contains("relabelled"))

            let destroyed = try await vastai("destroy", "instance", String(id), "-y")
            #expect(destroyed.stdout.contains("destroying instance \(id)"))
            let gone = try await vastai("show", "instance", String(id), "--raw")
            #expect(gone.json == ["instances": nil])
            let none = try await vastai("show", "instances", "--raw")
            #expect(none.json == [])

            // A second create on a taken offer fails the way the real API does.
            let offerIDs = offers.compactMap { $0["id"]?.intValue }
            _ = try await vastai("create", "instance", String(offerIDs[0]), "--image", "x", "--raw", "--args", "true")
            let again = try await vastai("create", "instance", String(offerIDs[0]), "--image", "x", "--raw", "--args", "true")
            #expect(again.stderr.contains("no_such_ask"))

            let stats = await sim.stats()
            #expect(stats.createsPerLabel["cli-test"] == 1)
            #expect(stats.requests(.logResult) >= 6)
            #expect(stats.requests(.user) >= 1)
        }
    }

    @Test(.enabled(if: VastaiCLI.executable != nil, "needs the vastai CLI"))
    func theCLIReportsAWrongKey() async throws {
        let cli = try #require(VastaiCLI.executable)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-vastai-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try await withVastSimulator { sim in
            let run = try await VastaiCLI.run(cli, sim, ["show", "instances", "--raw"], home: home, apiKey: "wrong")
            #expect(run.stderr.contains("404"))
            #expect(run.stderr.contains("auth_error"))
        }
    }
}
