import ArgumentParser
import ErgonCore
import ErgonPostgres
import ErgonSQLite
import Foundation
import Logging

/// `ergon bench-queue`: the claims per second `Scripts/bench queue` reports, of one SQLite
/// agent (the baseline) and of 1, 2, 4… agents sharing one PostgreSQL database. Hidden: it is a
/// measuring tool, not part of running tasks.
///
/// An agent is one queue object with its own connections, looping as the scheduler does:
/// `pendingTasks(limit: 16)`, then `claim` each of them in order; a claim lost to another agent
/// (counted) is followed by `claimNext`, which takes the next pending task instead (PostgreSQL:
/// `FOR UPDATE SKIP LOCKED`), until no task is pending. Every run starts on a fresh store holding one workflow of
/// N independent tasks, submitted and with every connection open before the clock starts; the
/// clock stops when the last agent finds nothing pending. Runs of the configurations
/// interleave (run 1 of each, then run 2 of each…) so a drift of the machine spreads over all.
struct BenchQueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-queue",
        abstract: "Measure claims per second: SQLite with one agent, PostgreSQL with several.",
        discussion: """
            Each PostgreSQL run creates a database ergon_bench_<random> on the --postgres server (its \
            user needs CREATEDB; the password comes from the URL or PGPASSWORD) and drops it afterwards. \
            Each SQLite run uses a fresh file in --scratch. Scripts/bench queue runs it against a local \
            PostgreSQL.
            """,
        shouldDisplay: false)

    /// How many pending tasks an agent reads at a time, as the scheduler's claim window.
    static let window = 16

    @Option(name: .long, help: "An admin URL such as postgres://ergon@127.0.0.1:5433/postgres (password from PGPASSWORD).")
    var postgres: String
    @Option(name: .long, help: "Tasks submitted before each run.")
    var tasks: Int = 2000
    @Option(name: .long, help: "Comma-separated agent counts for PostgreSQL.")
    var agents: String = "1,2,4"
    @Option(name: .long, help: "Runs per configuration; the median is reported.")
    var runs: Int = 3
    @Option(name: .long, help: "Directory for the SQLite files (default: a temporary directory, removed afterwards).")
    var scratch: String?

    /// Checked in `run`, not `validate`, so a bad option is a `UserError` (exit 2, one line).
    func checkOptions() throws {
        guard (1...1_000_000).contains(tasks) else { throw UserError("--tasks must be between 1 and 1000000") }
        guard (1...100).contains(runs) else { throw UserError("--runs must be between 1 and 100") }
        _ = try agentCounts()
    }

    /// The agent counts of --agents, in the order given, without repeats.
    func agentCounts() throws -> [Int] {
        var counts: [Int] = []
        for item in agents.split(separator: ",", omittingEmptySubsequences: false) {
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let count = Int(text), (1...64).contains(count) else {
                throw UserError(
                    "--agents takes agent counts between 1 and 64 separated by commas, such as 1,2,4; \"\(text)\" is not one")
            }
            if !counts.contains(count) { counts.append(count) }
        }
        return counts
    }

    /// One store and agent count to measure.
    struct Configuration: Hashable {
        enum Engine: String { case sqlite = "SQLite", postgres = "PostgreSQL" }
        var engine: Engine
        var agents: Int
        var label: String { "\(engine.rawValue) x\(agents)" }
    }

    /// What one run measured.
    struct RunResult {
        var seconds: Double
        var claimed: Int
        var lost: Int
        var claimsPerSecond: Double { Double(claimed) / seconds }
    }

    /// What one agent did in a run.
    struct AgentTally: Sendable {
        var agentID: String
        var claimed = 0
        var lost = 0
    }

    func run() async throws {
        try checkOptions()
        let counts = try agentCounts()
        let admin: PostgresLocation
        do {
            admin = try PostgresLocation.parse(postgres, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw UserError("--postgres: \(error.problem)")
        }
        var logger = Logger(label: "ergon.bench-queue")
        logger.logLevel = .warning

        let scratchDirectory: String
        let ownScratch = scratch == nil
        if let scratch {
            scratchDirectory = scratch
        } else {
            scratchDirectory = FileManager.default.temporaryDirectory
                .appendingPathComponent("ergon-bench-queue-\(UUID().uuidString)").path
        }
        do {
            try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        } catch {
            throw UserError("--scratch: cannot create \(scratchDirectory): \(error.localizedDescription)")
        }
        defer { if ownScratch { try? FileManager.default.removeItem(atPath: scratchDirectory) } }

        let configurations =
            [Configuration(engine: .sqlite, agents: 1)] + counts.map { Configuration(engine: .postgres, agents: $0) }
        print(
            "bench-queue: \(tasks) tasks per run, \(runs) runs per configuration, agents claim \(Self.window) pending at a time; PostgreSQL on \(admin)")
        var results: [Configuration: [RunResult]] = [:]
        for run in 1...runs {
            for configuration in configurations {
                let result: RunResult
                switch configuration.engine {
                case .sqlite:
                    result = try await measureSQLite(in: scratchDirectory, run: run)
                case .postgres:
                    result = try await measurePostgres(on: admin, agents: configuration.agents, logger: logger)
                }
                results[configuration, default: []].append(result)
                print(
                    "run \(run): \(pad(configuration.label, 14)) \(format(result.claimsPerSecond, width: 9)) claims/s  "
                        + "\(String(format: "%.3f", result.seconds)) s, \(result.lost) lost")
            }
        }

        /// The median rate of a configuration's runs (the mean of the middle two for an even
        /// count) and the median of its lost claims.
        func median(_ configuration: Configuration) -> (claims: Double, lost: Int)? {
            guard let runs = results[configuration], !runs.isEmpty else { return nil }
            func middle(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                let half = sorted.count / 2
                return sorted.count % 2 == 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2
            }
            return (middle(runs.map(\.claimsPerSecond)), Int(middle(runs.map { Double($0.lost) }).rounded()))
        }
        let sqliteBaseline = median(Configuration(engine: .sqlite, agents: 1))!.claims
        let postgresBaseline = median(Configuration(engine: .postgres, agents: 1))?.claims
        print("")
        print(
            "\(pad("engine", 10)) \(pad("agents", 6, right: true)) \(pad("claims/s", 10, right: true)) \(pad("lost", 8, right: true))  \(pad("vs SQLite x1", 12, right: true))  \(pad("vs PostgreSQL x1", 16, right: true))"
        )
        for configuration in configurations {
            let (claims, lost) = median(configuration)!
            let versusPostgres = postgresBaseline.map { String(format: "%.2fx", claims / $0) } ?? "n/a"
            print(
                "\(pad(configuration.engine.rawValue, 10)) \(pad("\(configuration.agents)", 6, right: true)) \(format(claims, width: 10)) \(pad("\(lost)", 8, right: true))  \(pad(String(format: "%.2fx", claims / sqliteBaseline), 12, right: true))  \(pad(versusPostgres, 16, right: true))"
            )
        }
        let postgresMedians = counts.map { ($0, median(Configuration(engine: .postgres, agents: $0))!.claims) }
        let best = postgresMedians.max { $0.1 < $1.1 }!
        let scaling = postgresMedians.map { "x\($0.0) \(format($0.1, width: 0))" }.joined(separator: ", ")
        print("")
        print(
            "summary: SQLite x1 \(format(sqliteBaseline, width: 0)) claims/s; PostgreSQL \(scaling); best PostgreSQL x\(best.0) at "
                + "\(String(format: "%.2f", best.1 / sqliteBaseline))x SQLite x1"
                + (postgresBaseline.map { " and \(String(format: "%.2f", best.1 / $0))x PostgreSQL x1" } ?? "")
                + " (medians of \(runs), \(tasks) tasks each, every task claimed exactly once)")
    }

    // MARK: one run

    /// One agent on a fresh SQLite file.
    func measureSQLite(in directory: String, run: Int) async throws -> RunResult {
        let path = (directory as NSString).appendingPathComponent("bench-queue-\(run)-\(UUID().uuidString).sqlite")
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let queue: SQLiteTaskQueue
        do {
            queue = try SQLiteTaskQueue(path: path)
        } catch {
            throw EnvironmentError("cannot open an SQLite queue in \(path): \(error)")
        }
        return try await Self.measure(queues: [queue], tasks: tasks, store: path)
    }

    /// `agents` agents on a fresh PostgreSQL database, dropped afterwards.
    func measurePostgres(on admin: PostgresLocation, agents: Int, logger: Logger) async throws -> RunResult {
        let name = "ergon_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        do {
            try await PostgresAdmin.createDatabase(name, on: admin, logger: logger)
        } catch {
            throw EnvironmentError("cannot create the database \(name) on \(admin): \(error)")
        }
        var queues: [PostgresTaskQueue] = []
        let outcome: Result<RunResult, any Error>
        do {
            // One at a time: the first brings the schema up, the others find it up to date.
            for _ in 0..<agents { queues.append(try await PostgresTaskQueue.open(admin.database(name), logger: logger)) }
            outcome = .success(try await Self.measure(queues: queues, tasks: tasks, store: "database \(name)"))
        } catch {
            outcome = .failure(error)
        }
        for queue in queues { await queue.close() }
        do {
            try await PostgresAdmin.dropDatabase(name, on: admin, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("ergon: could not drop the database \(name): \(error)\n".utf8))
        }
        return try outcome.get()
    }

    /// Submits `tasks` tasks through the first queue, then runs one agent per queue at once and
    /// times them until every one finds nothing pending; checks every task was claimed once.
    static func measure(queues: [any TaskQueue], tasks: Int, store: String) async throws -> RunResult {
        let spec = WorkflowSpec(
            name: "bench-queue",
            tasks: (0..<tasks).map { TaskSpec(slug: "t\($0)", image: "busybox", command: .shell("true")) })
        _ = try await queues[0].submit(spec, defaultMaxAttempts: 3, at: Date())
        // Every queue opens its connection now, not on the clock.
        for queue in queues { _ = try await queue.pendingTasks(limit: 1) }

        let clock = ContinuousClock()
        let start = clock.now
        let tallies = try await withThrowingTaskGroup(of: AgentTally.self) { group in
            for (index, queue) in queues.enumerated() {
                group.addTask { try await agent(queue: queue, agentID: "bench-agent-\(index + 1)") }
            }
            var tallies: [AgentTally] = []
            for try await tally in group { tallies.append(tally) }
            return tallies
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        let claimed = tallies.reduce(0) { $0 + $1.claimed }
        let lost = tallies.reduce(0) { $0 + $1.lost }
        let running = try await queues[0].tasks(TaskFilter(states: [.running]))
        let held = try await queues[0].heldTasks()
        var problems: [String] = []
        if claimed != tasks { problems.append("the agents claimed \(claimed) tasks") }
        if running.count != tasks { problems.append("\(running.count) tasks are running") }
        if held.count != tasks { problems.append("\(held.count) tasks are held") }
        let reclaimed = held.filter { $0.attempt.number != 1 }.count
        if reclaimed != 0 { problems.append("\(reclaimed) tasks are on an attempt other than the first") }
        for tally in tallies {
            let holds = held.filter { $0.task.agentID == tally.agentID }.count
            if holds != tally.claimed {
                problems.append("\(tally.agentID) claimed \(tally.claimed) tasks and holds \(holds)")
            }
        }
        if !problems.isEmpty {
            throw EnvironmentError(
                "\(queues.count) agent(s) on \(store): \(tasks) tasks submitted, not claimed exactly once each: "
                    + problems.joined(separator: "; "))
        }
        return RunResult(seconds: seconds, claimed: claimed, lost: lost)
    }

    /// One agent: reads a window of pending tasks and claims each in order, until none is pending.
    static func agent(queue: any TaskQueue, agentID: String) async throws -> AgentTally {
        var tally = AgentTally(agentID: agentID)
        while true {
            let pending = try await queue.pendingTasks(limit: window)
            if pending.isEmpty { return tally }
            for task in pending {
                if try await queue.claim(taskID: task.id, agentID: agentID, gpu: nil, at: Date()) != nil {
                    tally.claimed += 1
                    continue
                }
                // Lost to another agent: take the next pending task instead, as the scheduler does.
                tally.lost += 1
                guard try await queue.claimNext(agentID: agentID, needingGPU: nil, gpu: nil, at: Date()) != nil else {
                    return tally
                }
                tally.claimed += 1
            }
        }
    }
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    guard text.count < width else { return text }
    let fill = String(repeating: " ", count: width - text.count)
    return right ? fill + text : text + fill
}

private func format(_ rate: Double, width: Int) -> String {
    pad(String(format: "%.0f", rate), width, right: true)
}
