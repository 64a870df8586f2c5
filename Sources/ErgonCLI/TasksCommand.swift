import ArgumentParser
import ErgonCore
import Foundation

/// `ergon tasks`: inspect and steer tasks.
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "Inspect and steer tasks.",
        subcommands: [List.self, Show.self, Logs.self, ArtifactList.self, ArtifactDownload.self, Cancel.self, Retry.self])

    /// `ergon tasks list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks in submission order.")
        @OptionGroup var options: ConfigOption
        @Option(name: .long, help: "Only this workflow (id).")
        var workflow: String?
        @Option(name: .long, help: "Only tasks in these states (comma-separated).")
        var state: String?
        @Flag(name: .long, help: "Print a JSON array of task objects.")
        var json = false

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            var filter = TaskFilter.all
            if let workflow {
                guard let id = UUID(uuidString: workflow) else { throw UserError("--workflow: \"\(workflow)\" is not a workflow id") }
                filter.workflowID = id
            }
            if let state {
                var states = Set<TaskState>()
                for word in state.split(separator: ",") {
                    guard let parsed = TaskState(rawValue: String(word)) else {
                        let known = TaskState.allCases.map(\.rawValue).joined(separator: ", ")
                        throw UserError("--state: unknown state \"\(word)\" (states: \(known))")
                    }
                    states.insert(parsed)
                }
                filter.states = states
            }
            let tasks = try await mappingQueueErrors { try await queue.tasks(filter) }
            if json {
                try printJSON(tasks.map(TaskJSON.init))
            } else if tasks.isEmpty {
                print("no tasks")
            } else {
                print(TaskTable.render(tasks))
            }
        }
    }

    /// `ergon tasks show ID`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one task and its attempts.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let config = try options.load()
            try await config.withLogStore { store in try await show(config: config, store: store) }
        }

        private func show(config: ErgonConfig, store: any LogStore) async throws {
            let queue = try await config.openQueue()
            let (task, attempts, workflow) = try await mappingQueueErrors {
                let id = try await queue.resolveTaskID(id)
                guard let task = try await queue.task(id) else { throw QueueError(.notFound, "no task \(id)") }
                return (task, try await queue.attempts(of: id), try await queue.workflow(task.workflowID))
            }
            let now = Date()
            let cost = CostSummary(attempts, at: now)
            let logOf = { (number: Int) in
                store.location(key: LogKey(workflowID: task.workflowID, taskID: task.id, attempt: number))
            }
            if json {
                struct Detail: Encodable {
                    let task: TaskJSON
                    let workflowName: String?
                    let command: String?
                    /// Dollars its instances cost; nil without a price (docker).
                    let cost: Double?
                    let attempts: [AttemptJSON]
                }
                try printJSON(Detail(
                    task: TaskJSON(task), workflowName: workflow?.name,
                    command: task.spec.command.map(TaskTable.describe),
                    cost: cost.isPriced ? cost.dollars : nil,
                    attempts: attempts.map { AttemptJSON($0, log: logOf($0.number), at: now) }))
                return
            }
            var lines: [(String, String)] = [
                ("task", task.id.uuidString.lowercased()), ("slug", task.spec.slug),
                ("workflow", "\(workflow?.name ?? "?") (\(task.workflowID.uuidString.lowercased()))"),
                ("state", task.state.rawValue), ("image", task.spec.image),
            ]
            if let command = task.spec.command { lines.append(("command", TaskTable.describe(command))) }
            if task.spec.gpu { lines.append(("gpu", "1")) }
            lines.append(("attempt", "\(task.attempt) (budget \(task.attemptBase + task.maxAttempts))"))
            lines.append(("exit code", task.exitCode.map(String.init) ?? "-"))
            if let reason = task.reason { lines.append(("reason", reason)) }
            if let agent = task.agentID { lines.append(("agent", agent)) }
            if task.attempt > 0 { lines.append(("log", logOf(task.attempt))) }
            if cost.isPriced { lines.append(("cost", cost.text)) }
            if task.state == .pending {
                let holding = try await queue.agents().filter { $0.isLive(at: now) && $0.holding != nil }
                for agent in holding { lines.append(("waiting", "agent \(agent.id) orders nothing new: \(agent.holding!)")) }
            }
            print(lines.map { $0.0.padding(toLength: 10, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n"))
            guard !attempts.isEmpty else { return }
            print("\n" + Self.attemptsText(attempts, at: now))
        }

        static func time(_ date: Date) -> String { TaskTable.time(date) }
    }

    /// `ergon tasks logs ID`.
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a task's log (the latest attempt by default).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String
        @Option(name: .long, help: "Which attempt (default: the latest).")
        var attempt: Int?
        @Flag(name: .shortAndLong, help: "Keep printing as the log grows, until the attempt ends.")
        var follow = false

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            let taskID = try await mappingQueueErrors { try await queue.resolveTaskID(id) }
            try await config.withLogStore { store in
                try await printLog(taskID, queue: queue, source: LogSource(spool: LogSpool(directory: config.spoolDirectory), store: store))
            }
        }

        private func printLog(_ taskID: UUID, queue: any TaskQueue, source: LogSource) async throws {
            var task = try await queue.task(taskID)!
            if let attempt, attempt < 1 || attempt > task.attempt {
                throw UserError("--attempt: task \(task.spec.slug) has \(task.attempt) attempt(s); there is no attempt \(attempt)")
            }
            // Without --attempt, wait for the first attempt when following a task not started yet.
            while attempt == nil, task.attempt == 0 {
                guard follow, !task.state.isTerminal else {
                    throw UserError("task \(task.spec.slug) has no log: it never started (\(task.state.rawValue))")
                }
                try await Task.sleep(for: .milliseconds(250))
                task = try await queue.task(taskID)!
            }
            let number = attempt ?? task.attempt
            let key = LogKey(workflowID: task.workflowID, taskID: taskID, attempt: number)
            var offset: Int64 = 0
            while true {
                let read = try await source.read(key, from: offset)
                if let read, !read.bytes.isEmpty {
                    FileHandle.standardOutput.write(Data(read.bytes))
                    offset += Int64(read.bytes.count)
                    continue
                }
                guard follow else { return }
                // The attempt is over once it is done and its whole log is where it is read from
                // (the store, when another machine ran it, may still be catching up).
                let current = try await queue.attempts(of: taskID).first { $0.number == number }
                if let current, current.phase == .done {
                    let end = read?.fromSpool == true ? current.logSpooled : current.logShipped
                    if offset >= end, read?.fromSpool == true || current.logShipped >= current.logSpooled { return }
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// `ergon tasks cancel ID`.
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a task: stopped at once if not running, else stopped by the agent.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String

        func run() async throws {
            let task = try await TasksCommand.steer(id, options: options) { queue, id in
                try await queue.cancel(taskID: id, at: Date())
            }
            let note = task.state == .stopping ? " (the agent destroys its container)" : ""
            print("task \(task.spec.slug) \(task.id.uuidString.lowercased()): \(task.state.rawValue)\(note)")
        }
    }

    /// `ergon tasks retry ID`.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a failed, error, stopped or cancelled task again with a fresh attempt budget.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String

        func run() async throws {
            let task = try await TasksCommand.steer(id, options: options) { queue, id in
                try await queue.retry(taskID: id, at: Date())
            }
            print("task \(task.spec.slug) \(task.id.uuidString.lowercased()): \(task.state.rawValue)")
        }
    }

    /// Resolves a task id from the command line and applies a user request to it.
    static func steer(
        _ text: String, options: ConfigOption, _ request: (any TaskQueue, UUID) async throws -> TaskRecord
    ) async throws -> TaskRecord {
        let config = try options.load()
        let queue = try await config.openQueue()
        return try await mappingQueueErrors { try await request(queue, try await queue.resolveTaskID(text)) }
    }
}
