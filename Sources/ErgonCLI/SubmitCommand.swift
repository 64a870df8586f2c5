import ArgumentParser
import AsyncHTTPClient
import ErgonCore
import ErgonVast
import Foundation
import Logging

/// `ergon submit FILE`: validates a workflow file and adds it to the queue.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Add a workflow (Ergon YAML/JSON or a Nosana job definition) to the queue.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The workflow file (.yaml, .yml or .json).")
    var file: String
    @Flag(name: .long, help: "Validate and print the tasks in dependency order; write nothing.")
    var dryRun = false
    @Flag(name: .long, help: "Follow the workflow until every task ends; exit 0 only if all completed.")
    var wait = false
    @Flag(name: .long, help: "Print JSON.")
    var json = false
    @Flag(name: .long, help: "In vast mode, do not read the images from their registries to refuse those without /bin/sh.")
    var skipImageCheck = false

    func run() async throws {
        let spec: WorkflowSpec
        do {
            spec = try WorkflowLoader.load(path: file)
        } catch {
            throw UserError("\(error)")
        }
        if let problem = VastTaskCheck.filterProblems(spec).first { throw UserError("\(file): \(problem)") }
        if dryRun {
            try printPlan(spec)
            return
        }
        let config = try options.load()
        if config.mode == .vast, let problem = VastTaskCheck.vastModeProblems(spec).first {
            throw UserError("\(file): \(problem) (the agent runs in vast mode, \(config.source))")
        }
        if config.mode == .vast, config.vast.checkImageShell, !skipImageCheck {
            try await checkShells(spec, config: config)
        }
        let queue = try await config.openQueue()
        let (workflow, tasks) = try await mappingQueueErrors {
            try await queue.submit(spec, defaultMaxAttempts: config.scheduler.defaultMaxAttempts, at: Date())
        }
        if json {
            try printJSON(SubmittedJSON(workflow: workflow, tasks: tasks.map(TaskJSON.init)))
        } else {
            print("workflow \(workflow.name) \(workflow.id.uuidString.lowercased()): \(tasks.count) task(s) queued")
            print(TaskTable.render(tasks))
        }
        guard wait else { return }
        let allCompleted = try await WorkflowFollower(queue: queue, workflowID: workflow.id, json: json).follow()
        if !allCompleted { throw ExitCode(1) }
    }

    /// Refuses tasks whose image has no `/bin/sh` (vast mode runs every task under it); warns,
    /// and goes on, for an image whose registry cannot tell.
    func checkShells(_ spec: WorkflowSpec, config: ErgonConfig) async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: VastClient.httpConfiguration)
        var logger = Logger(label: "ergon.submit")
        logger.logLevel = .warning
        let probe = ImageShellProbe(registries: config.vast.registries, httpClient: http, logger: logger)
        let review = await VastTaskCheck.shellProblems(spec, acceptanceCheck: config.vast.acceptanceCheck, probe: probe.probe)
        try? await http.shutdown()
        for warning in review.warnings {
            FileHandle.standardError.write(Data("ergon: warning: \(file): \(warning)\n".utf8))
        }
        guard review.problems.isEmpty else {
            throw UserError(
                review.problems.map { "\(file): \($0)" }.joined(separator: "\n")
                    + "\n(vast_api.check_image_shell in \(config.source) or --skip-image-check turns this check off; nothing was queued)")
        }
    }

    /// Prints the tasks in dependency order without touching the queue.
    func printPlan(_ spec: WorkflowSpec) throws {
        let order = try WorkflowGraph(spec.tasks).order
        let bySlug = Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.slug, $0) })
        let ordered = order.compactMap { bySlug[$0] }
        if json {
            try printJSON(DryRunJSON(name: spec.name, volumes: spec.volumes, tasks: ordered))
            return
        }
        print("workflow \(spec.name): \(spec.tasks.count) task(s), valid; nothing was written")
        for (index, task) in ordered.enumerated() {
            var facts = ["image \(task.image)"]
            if let command = task.command { facts.append("command \(TaskTable.describe(command))") }
            if !task.parents.isEmpty { facts.append("after \(task.parents.joined(separator: ", "))") }
            if task.gpu { facts.append("1 GPU") }
            if let timeout = task.timeoutSeconds { facts.append("timeout \(Reconciler.format(timeout))") }
            if let attempts = task.maxAttempts { facts.append("max attempts \(attempts)") }
            if task.priority != 0 { facts.append("priority \(task.priority)") }
            if !task.volumes.isEmpty { facts.append("volumes \(task.volumes.map { "\($0.name):\($0.dest)" }.joined(separator: ", "))") }
            if !task.resources.isEmpty { facts.append("\(task.resources.count) resource(s)") }
            print("\(index + 1). \(task.slug): \(facts.joined(separator: "; "))")
        }
    }
}

/// `submit --json` output.
struct SubmittedJSON: Encodable {
    let workflow: WorkflowJSON
    let tasks: [TaskJSON]
    init(workflow: WorkflowRecord, tasks: [TaskJSON]) {
        self.workflow = WorkflowJSON(workflow)
        self.tasks = tasks
    }
}

/// `submit --dry-run --json` output.
struct DryRunJSON: Encodable {
    let name: String
    let volumes: [String]
    let tasks: [TaskSpec]
}
