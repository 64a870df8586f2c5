import Crypto
import ErgonCore
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Testing

/// Task resources in docker mode, through the `ergon` binary: fetched once into the cache for
/// tasks running at the same time, mounted read-only at their targets, verified, listed and
/// pruned with `ergon cache`.
@Suite("Task resources and the cache (docker mode)", .dockerEngine, .serialized)
struct ResourceAgentTests {
    let image = DockerTestEngine.image

    @Test("two tasks at once share one download; `cache: false` fetches its own; a wrong sha256 fails the task")
    func sharedDownloadMountedReadOnly() async throws {
        let dir = try CLITests.directory()
        let files = dir + "/files"
        try FileManager.default.createDirectory(atPath: files + "/bundle", withIntermediateDirectories: true)
        let model = Data((0..<2_000_000).map { _ in UInt8.random(in: 0...255) })
        try model.write(to: URL(fileURLWithPath: files + "/model.bin"))
        let digest = SHA256.hash(data: model).map { String(format: "%02x", $0) }.joined()
        try CLITests.write("words of the vocabulary\n", to: files + "/bundle/vocab.txt")
        try Self.shell("tar -C \(files)/bundle -cf \(files)/bundle.tar vocab.txt")
        let server = try LocalFileServer(root: files)
        defer { server.stop() }

        let config = dir + "/agent.yaml"
        let agentID = "res-\(UUID().uuidString.prefix(8).lowercased())"
        try CLITests.write("""
            agent: {id: \(agentID)}
            data_dir: \(dir)/data
            scheduler: {poll_interval: 1s, max_parallel_tasks: 4}
            docker: {socket: \(DockerTestEngine.socketPath), network: none}
            server: {listen: "127.0.0.1:0"}
            cache: {max_size: 64MiB}
            """, to: config)
        let resources = """
            resources:
                  - {type: HTTP, url: "\(server.baseURL)/model.bin", target: /models/model.bin, sha256: \(digest)}
                  - {type: HTTP, url: "\(server.baseURL)/bundle.tar", target: /models/bundle, unpack: true}
            """
        let command = "sha256sum /models/model.bin; cat /models/bundle/vocab.txt; touch /models/model.bin 2>/dev/null || echo model is read-only"
        try CLITests.write("""
            name: resources
            tasks:
              - slug: a
                image: \(image)
                command: "\(command)"
                \(resources)
              - slug: b
                image: \(image)
                command: "\(command)"
                \(resources)
              - slug: private
                image: \(image)
                command: "\(command)"
                cache: false
                \(resources)
              - slug: wrong
                image: \(image)
                command: "echo never runs"
                resources:
                  - {type: HTTP, url: "\(server.baseURL)/model.bin", target: /m, sha256: \(String(repeating: "0", count: 64))}
            """, to: dir + "/wf.yaml")
        let submitted = try ErgonBinary.run(["submit", dir + "/wf.yaml", "--config", config])
        #expect(submitted.status == 0, "\(submitted.stderr)")

        let agent = try ErgonBinary.start(["agent", "--config", config], logFile: dir + "/agent.log")
        defer { agent.terminate(); agent.waitUntilExit() }
        let agentLog = { (try? String(contentsOfFile: dir + "/agent.log", encoding: .utf8)) ?? "" }
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let tasks = Dictionary(uniqueKeysWithValues: try await queue.tasks(.all).map { ($0.spec.slug, $0) })
        for slug in ["a", "b", "private", "wrong"] {
            try await waitForTask(in: queue, tasks[slug]!.id, timeout: .seconds(120)) { $0.state.isTerminal }
        }
        for slug in ["a", "b", "private"] {
            let task = try #require(try await queue.task(tasks[slug]!.id))
            #expect(task.state == .completed, "\(slug): \(task.reason ?? "")\n\(agentLog())")
            let log = try ErgonBinary.run(["tasks", "logs", task.id.uuidString, "--config", config]).stdout
            #expect(log.contains("\(digest)  /models/model.bin"), "\(slug): \(log)")
            #expect(log.contains("words of the vocabulary"), "\(slug): \(log)")
            #expect(log.contains("model is read-only"), "\(slug): \(log)")
            #expect(log.contains("[ergon] resource 0 (HTTP \(server.baseURL)/model.bin) ready: 1.9 MiB"), "\(slug): \(log)")
        }
        // One download for the two cached tasks, one for the task that opted out; the wrong
        // digest fetched again (the entry is keyed by URL) and refused.
        let requests = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
        #expect(server.requests(of: "bundle.tar") == 2, "\(requests)")
        #expect(server.requests(of: "model.bin") <= 3)
        let wrong = try #require(try await queue.task(tasks["wrong"]!.id))
        #expect(wrong.state == .error, "\(wrong.reason ?? "")")
        #expect(wrong.reason?.contains("sha256") == true || wrong.reason?.contains("SHA-256") == true, "\(wrong.reason ?? "")")
        #expect(try await queue.attempts(of: wrong.id).count == 1, "a checksum mismatch is not retried")

        let listed = try ErgonBinary.run(["cache", "list", "--json", "--config", config])
        #expect(listed.status == 0, "\(listed.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
        let entries = json?["resources"] as? [[String: Any]] ?? []
        #expect(entries.count == 2, "\(listed.stdout)")
        #expect(entries.allSatisfy { ($0["in_use"] as? [String])?.isEmpty == true }, "ended tasks hold nothing: \(listed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/data/work/\(tasks["private"]!.id.uuidString.lowercased()).resources"))

        let pruned = try ErgonBinary.run(["cache", "prune", "--all", "--config", config])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("resources: 2 removed"), "\(pruned.stdout)")
        let after = try ErgonBinary.run(["cache", "list", "--config", config])
        #expect(after.stdout.contains("resources in \(dir)/data/cache/\(agentID): 0"), "\(after.stdout)")
    }

    static func shell(_ line: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIFailure("\(line) exited \(process.terminationStatus)") }
    }
}
