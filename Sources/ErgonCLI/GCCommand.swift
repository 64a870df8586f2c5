import ArgumentParser
import ErgonCore
import Foundation

/// `ergon gc --older-than 30d`: removes workflows that ended long ago, with their logs,
/// artifacts and local files.
struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove workflows that ended before a cutoff, with their logs, artifacts and spool files.",
        discussion: """
            A workflow goes when every task of it ended and the last of them changed more than --older-than ago: \
            its log objects (every attempt, live segments too) and artifacts first, then its spool and workspace \
            files under data_dir on this machine, then its task, attempt and workflow rows. A run cut short is \
            finished by the next one. Safe while agents run: a workflow with a live task is never removed, nor, \
            with notify.webhook_url, one whose webhook report agents have still to deliver.
            """)

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Remove workflows that ended longer ago than this (30d, 12h, 1d12h).")
    var olderThan: String?
    @Flag(name: .long, help: "List what would be removed and change nothing.")
    var dryRun = false
    @Flag(name: .long, help: "Print JSON.")
    var json = false

    /// The age `--older-than` gives, in seconds.
    static func age(_ text: String?) throws -> Double {
        guard let text else {
            throw UserError("--older-than: required: how long ago a workflow must have ended to be removed (e.g. --older-than 30d)")
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("-") {
            throw UserError("--older-than: must be longer than zero, got \"\(text)\" (e.g. 30d or 12h)")
        }
        guard let seconds = DurationParser.seconds(trimmed) else {
            throw UserError("--older-than: invalid duration \"\(text)\" (expected \(DurationParser.acceptedForms))")
        }
        guard seconds > 0 else {
            throw UserError("--older-than: must be longer than zero, got \"\(text)\" (e.g. 30d or 12h)")
        }
        return seconds
    }

    func run() async throws {
        let cutoff = Date().addingTimeInterval(-(try Self.age(olderThan)))
        let config = try options.load()
        let queue = try await config.openQueue()
        let dryRun = self.dryRun
        let report = try await config.withLogStore { logStore in
            try await config.withArtifactStore { artifacts in
                let collector = GarbageCollector(
                    queue: queue, logStore: logStore, artifactStore: artifacts,
                    spool: LogSpool(directory: config.spoolDirectory), workspace: TaskWorkspace(root: config.workDirectory),
                    reportLookback: config.notify.webhookURL == nil ? nil : WorkflowNotifier.Settings.defaultLookback)
                return try await mappingQueueErrors {
                    try await Self.collect(collector, cutoff: cutoff, dryRun: dryRun)
                }
            }
        }
        if json {
            try printJSON(report)
        } else {
            print(report.text)
        }
        guard report.failures.isEmpty else {
            throw EnvironmentError(
                "could not remove \(report.failures.count) workflow(s): \(report.failures.joined(separator: "; ")); run gc again to finish")
        }
    }

    /// Surveys, then (unless `dryRun`) removes workflow by workflow; a failure of one is
    /// reported and the others go on.
    static func collect(_ collector: GarbageCollector, cutoff: Date, dryRun: Bool) async throws -> GCReport {
        var report = GCReport(dryRun: dryRun, cutoff: cutoff)
        for garbage in try await collector.survey(endedBefore: cutoff) {
            do {
                if dryRun {
                    if let reason = try await collector.reasonToKeep(garbage, endedBefore: cutoff) {
                        report.kept(garbage, reason: reason)
                    } else {
                        report.add(garbage, outcome: "would remove")
                    }
                    continue
                }
                switch try await collector.remove(garbage, endedBefore: cutoff) {
                case .removed: report.add(garbage, outcome: "removed")
                case .kept(let reason): report.kept(garbage, reason: reason)
                }
            } catch {
                report.failures.append("\(garbage.workflow.name) (\(garbage.workflow.id.uuidString.lowercased())): \(error)")
            }
        }
        return report
    }
}

/// What `ergon gc` did or would do, as text or JSON.
struct GCReport: Encodable, Sendable {
    /// One workflow's line.
    struct Entry: Encodable, Sendable {
        let id: String
        let name: String
        let endedAt: Date
        /// `removed`, `would remove`, or `kept: <why>`.
        let outcome: String
        let tasks: Int
        let logObjects: Int
        let logBytes: Int64
        let artifacts: Int
        let artifactBytes: Int64
        let localFiles: Int
        let localBytes: Int64
    }

    let dryRun: Bool
    let cutoff: Date
    var workflows: [Entry] = []
    var failures: [String] = []

    init(dryRun: Bool, cutoff: Date) {
        self.dryRun = dryRun
        self.cutoff = cutoff
    }

    mutating func add(_ garbage: WorkflowGarbage, outcome: String) {
        workflows.append(
            Entry(
                id: garbage.workflow.id.uuidString.lowercased(), name: garbage.workflow.name, endedAt: garbage.endedAt,
                outcome: outcome, tasks: garbage.tasks.count, logObjects: garbage.logObjects.count,
                logBytes: garbage.logBytes, artifacts: garbage.artifactCount, artifactBytes: garbage.artifactBytes,
                localFiles: garbage.localFiles.count, localBytes: garbage.localBytes))
    }

    mutating func kept(_ garbage: WorkflowGarbage, reason: String) {
        add(garbage, outcome: "kept: \(reason)")
    }

    /// The entries that count toward the totals: removed, or would be.
    private var counted: [Entry] { workflows.filter { !$0.outcome.hasPrefix("kept") } }

    /// One line per workflow, then the totals.
    var text: String {
        var lines = workflows.map { entry in
            "\(entry.outcome) workflow \(entry.name) (\(entry.id.prefix(8))), ended \(TaskTable.time(entry.endedAt)): "
                + "\(entry.tasks) task(s), \(entry.logObjects) log object(s) \(ByteSizeParser.format(entry.logBytes)), "
                + "\(entry.artifacts) artifact(s) \(ByteSizeParser.format(entry.artifactBytes)), "
                + "\(entry.localFiles) local file(s) \(ByteSizeParser.format(entry.localBytes))"
        }
        let sum = { (value: (Entry) -> Int64) in counted.reduce(Int64(0)) { $0 + value($1) } }
        let verb = dryRun ? "would remove" : "removed"
        if workflows.isEmpty {
            lines.append("no workflow ended before \(TaskTable.time(cutoff))")
        } else {
            lines.append(
                "\(verb) \(counted.count) workflow(s), \(sum { Int64($0.tasks) }) task(s), "
                    + "\(sum { Int64($0.logObjects) }) log object(s) (\(ByteSizeParser.format(sum { $0.logBytes }))), "
                    + "\(sum { Int64($0.artifacts) }) artifact(s) (\(ByteSizeParser.format(sum { $0.artifactBytes }))), "
                    + "\(sum { Int64($0.localFiles) }) local file(s) (\(ByteSizeParser.format(sum { $0.localBytes })))")
        }
        return lines.joined(separator: "\n")
    }
}
