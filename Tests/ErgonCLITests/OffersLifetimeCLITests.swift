import ErgonCore
import ErgonSQLite
import ErgonVast
import Foundation
import Testing

@Suite("ergon offers --timeout: the lifetime rule from the command line", .serialized)
struct OffersLifetimeCLITests {
    @Test("--explain counts the offers whose host leaves before the timeout plus vast_api.lifetime_margin; --json too")
    func explainCountsShortLivedHosts() throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "500", "--seed", "3"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try VastCLITests.vastConfig(in: dir, url: sim.url, filters: "reliability>0.95", extra: "  lifetime_margin: 2h")

        let json = try ErgonBinary.run(["offers", "--config", config, "--explain", "--json", "--timeout", "30d"])
        #expect(json.status == 0, "\(json.stderr)")
        let parsed = try JSONValue.decode(Data(json.stdout.utf8))
        #expect(parsed["lifetime"] == ["timeout_seconds": 2_592_000, "margin_seconds": 7200, "minimum_seconds": 2_599_200])
        let steps = parsed["funnel"]?["steps"]?.arrayValue ?? []
        let step = try #require(steps.first { $0["term"]?.stringValue?.hasPrefix("duration >=") == true })
        #expect(step["term"] == "duration >= 722h (timeout 720h + vast_api.lifetime_margin 2h)")
        #expect((step["removed"]?.intValue ?? 0) > 0, "the seeded market has hosts leaving within 30 days: \(step)")
        #expect(steps.last?["term"] == step["term"], "no price cap: the lifetime is the last step")
        let rows = parsed["offers"]?.arrayValue ?? []
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { ($0["max_duration_days"]?.doubleValue ?? .infinity) * 86_400 >= 2_599_200 - 1 })

        let text = try ErgonBinary.run(["offers", "--config", config, "--explain"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("duration >= 26h (timeout 24h + vast_api.lifetime_margin 2h)"), "\(text.stdout)")
        #expect(text.stdout.contains("lifetime: a host must stay available 26h: the task's timeout 24h (scheduler.default_timeout) + vast_api.lifetime_margin 2h"))
        let given = try ErgonBinary.run(["offers", "--config", config, "--explain", "--timeout", "90m"])
        #expect(given.stdout.contains("the task's timeout 1h30m (--timeout) + vast_api.lifetime_margin 2h"), "\(given.stdout)")
        #expect(try sim.stats()["created_instances"] == 0)
    }

    @Test("--ranking effective_cost: --explain shows the inputs and each top offer's figures, and orders by expected dollars")
    func effectiveCostRanking() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "500", "--seed", "3"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try VastCLITests.vastConfig(in: dir, url: sim.url, filters: "reliability>0.9")
        // A machine this agent saw take 40 minutes to provision.
        let listed = try JSONValue.decode(Data(try ErgonBinary.run(["offers", "--config", config, "--json", "--limit", "3"]).stdout.utf8))
        let machine = try #require(listed["offers"]?.arrayValue?.first?["machine"]?.intValue)
        let record = HostReputation(path: HostReputation.path(cacheDirectory: dir + "/data/cache/vast-cli"))
        await record.record(machine: String(machine), .init(kind: .provisioned, at: Date().addingTimeInterval(-3600), seconds: 2400))

        let arguments = ["offers", "--config", config, "--ranking", "effective_cost", "--expected-runtime", "2h", "--image-size", "8GB", "--limit", "5"]
        let text = try ErgonBinary.run(arguments + ["--explain"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("ranking: effective_cost: dph x (provisioning + run) + P(failure) x dph x (provisioning + run/2)"), "\(text.stdout)")
        #expect(text.stdout.contains("image size: 8.00 GB (image_size_hint)"), "\(text.stdout)")
        #expect(text.stdout.contains("run: 2h (expected_runtime)"), "\(text.stdout)")
        let json = try JSONValue.decode(Data(try ErgonBinary.run(arguments + ["--json"]).stdout.utf8))
        #expect(json["ranking"] == "effective_cost")
        let scores = json["scores"]?.arrayValue ?? []
        #expect(scores.count == 5)
        let dollars = scores.compactMap { $0["dollars"]?.doubleValue }
        #expect(dollars == dollars.sorted(), "best first: \(dollars)")
        #expect(json["offers"]?.arrayValue?.map { $0["id"] } == scores.map { $0["offer_id"] })
        // The slow machine's observed 40 minutes count, not the link's estimate.
        if let slow = scores.first(where: { $0["provisioning_source"]?.stringValue?.hasPrefix("observed on machine \(machine)") == true }) {
            #expect(slow["provisioning_seconds"] == 2400)
        } else {
            #expect(json["offers"]?.arrayValue?.prefix(5).contains { $0["machine"]?.intValue == machine } == false,
                    "the observed machine fell out of the top 5: \(scores)")
        }
        let bad = try ErgonBinary.run(["offers", "--print-request", "--ranking", "fastest"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--ranking must be effective_cost or price"), "\(bad.stderr)")
        #expect(try sim.stats()["created_instances"] == 0)
    }

    @Test("--slug and --image: the run time is the median of the slug's past runs on the image in the configured queue; an unreachable registry leaves --image-size")
    func pastRunsAndAnUnreachableRegistry() async throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "200", "--seed", "3"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try VastCLITests.vastConfig(in: dir, url: sim.url)
        // Two completed runs of `ocr` on the image, of 10 and 20 minutes, as an agent records them.
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let queue = try SQLiteTaskQueue(path: dir + "/data/queue.sqlite")
        let image = "registry.invalid/teklia/ocr:1"
        for minutes in [10.0, 20.0] {
            let spec = TaskSpec(slug: "ocr", image: image, command: .shell("ocr"))
            let (_, tasks) = try await queue.submit(WorkflowSpec(name: "pages", tasks: [spec]), defaultMaxAttempts: 1, at: Date())
            let start = Date().addingTimeInterval(-7200)
            let held = try #require(try await queue.claim(taskID: tasks[0].id, agentID: "vast-cli", gpu: nil, at: start))
            var attempt = held.attempt
            attempt.startedAt = start
            try await queue.updateAttempt(attempt)
            _ = try await queue.finishAttempt(taskID: tasks[0].id, attempt: 1, outcome: .exited(code: 0), at: start + minutes * 60)
        }

        let text = try ErgonBinary.run([
            "offers", "--config", config, "--ranking", "effective_cost", "--image", image, "--slug", "ocr", "--image-size", "2GB",
            "--explain",
        ])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("run: 15m (median of 2 past runs of this slug and image)"), "\(text.stdout)")
        #expect(text.stdout.contains("image size: 2.00 GB (image_size_hint)"), "\(text.stdout)")
        #expect(text.stderr.contains("the size of \(image) could not be read from its registry"), "\(text.stderr)")
        // --expected-runtime still comes first.
        let hinted = try ErgonBinary.run([
            "offers", "--config", config, "--image", image, "--slug", "ocr", "--expected-runtime", "1h", "--explain",
        ])
        #expect(hinted.status == 0, "\(hinted.stderr)")
        #expect(hinted.stdout.contains("run: 1h (expected_runtime)"), "\(hinted.stdout)")

        let alone = try ErgonBinary.run(["offers", "--print-request", "--slug", "ocr"], in: dir)
        #expect(alone.status == 2)
        #expect(alone.stderr.contains("--slug needs --image"), "\(alone.stderr)")
    }

    @Test("--timeout: a bad value is a usage error; the search body carries the floor, in seconds, as the agent's does")
    func timeoutOption() throws {
        let dir = try CLITests.directory()
        let bad = try ErgonBinary.run(["offers", "--print-request", "--timeout", "soon"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--timeout: invalid duration \"soon\""), "\(bad.stderr)")
        let zero = try ErgonBinary.run(["offers", "--print-request", "--timeout", "0"], in: dir)
        #expect(zero.status == 2)
        // Options checked before the command runs are usage errors too (they once exited 1).
        let limit = try ErgonBinary.run(["offers", "--print-request", "--limit", "0"], in: dir)
        #expect(limit.status == 2)
        #expect(limit.stderr.contains("--limit must be at least 1"), "\(limit.stderr)")
        let port = try ErgonBinary.run(["vast-sim", "--port", "70000"], in: dir)
        #expect(port.status == 2)
        #expect(port.stderr.contains("--port must be between 0 and 65535"), "\(port.stderr)")
        let market = try ErgonBinary.run(["vast-sim", "--market", "bumpy"], in: dir)
        #expect(market.status == 2)
        #expect(market.stderr.contains("--market must be plain or faulty, got \"bumpy\""), "\(market.stderr)")
        let plain = try ErgonBinary.run(["offers", "--print-request"], in: dir)
        let timed = try ErgonBinary.run(["offers", "--print-request", "--timeout", "2d"], in: dir)
        #expect(plain.status == 0 && timed.status == 0, "\(plain.stderr) \(timed.stderr)")
        let plainBody = try JSONValue.decode(Data(plain.stdout.utf8))
        let timedBody = try JSONValue.decode(Data(timed.stdout.utf8))
        #expect(plainBody["duration"] == ["gte": 90_000], "scheduler.default_timeout 24h + vast_api.lifetime_margin 1h")
        #expect(timedBody["duration"] == ["gte": 176_400], "2d + 1h")
        let ownTerm = try ErgonBinary.run(["offers", "--print-request", "--filter", "duration>=3"], in: dir)
        #expect(try JSONValue.decode(Data(ownTerm.stdout.utf8))["duration"] == ["gte": 259_200], "the query's stricter bound wins")
    }

    @Test("the cheapest page of offers is all short-lived hosts: the search carries the floor, so a long-lived one is still chosen")
    func choiceLooksPastACheapPageOfShortLivedHosts() throws {
        let dir = try CLITests.directory()
        let sim = try SimulatorProcess(["--offers", "1500", "--seed", "7"], log: dir + "/sim.log")
        defer { sim.stop() }
        let config = try VastCLITests.vastConfig(in: dir, url: sim.url)

        // The cheapest page as a search without a real floor returns it (its hosts count down in real time).
        let short = try ErgonBinary.run(["offers", "--config", config, "--json", "--limit", "64", "--timeout", "1s"])
        #expect(short.status == 0, "\(short.stderr)")
        let page = try JSONValue.decode(Data(short.stdout.utf8))["offers"]?.arrayValue ?? []
        #expect(page.count == 64)
        let days = page.compactMap { $0["max_duration_days"]?.doubleValue }
        let longestDays = try #require(days.max())
        let timeout = Int((longestDays * 86_400).rounded(.up))

        let chosen = try ErgonBinary.run(["offers", "--config", config, "--json", "--explain", "--timeout", "\(timeout)"])
        #expect(chosen.status == 0, "a long-lived host beyond the cheapest page: \(chosen.stderr)")
        let parsed = try JSONValue.decode(Data(chosen.stdout.utf8))
        #expect(parsed["request"]?["duration"] == ["gte": .number(Double(timeout + 3600))])
        let best = try #require(parsed["chosen"])
        #expect((best["max_duration_days"]?.doubleValue ?? 0) * 86_400 >= Double(timeout + 3600) - 1)
        #expect(!page.contains { $0["id"] == best["id"] })
        // The funnel starts from the unfiltered market, so it still counts what the floor removed.
        let steps = parsed["funnel"]?["steps"]?.arrayValue ?? []
        let lifetime = try #require(steps.first { $0["term"]?.stringValue?.hasPrefix("duration >=") == true })
        #expect((lifetime["removed"]?.intValue ?? 0) >= page.count, "\(lifetime)")
        #expect(try sim.stats()["created_instances"] == 0)
    }
}
