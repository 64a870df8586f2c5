import ArgumentParser
import ErgonCore
import ErgonDocker
import Foundation

/// `ergon instances`: what the agent owns in its backend.
struct InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances",
        abstract: "List or destroy what this agent, and the agents sharing its queue, own in the backend.",
        subcommands: [List.self, Destroy.self, Reap.self])

    /// Runs `body` with the configured backend.
    static func withBackend<T: Sendable>(_ config: ErgonConfig, _ body: (any Backend) async throws -> T) async throws -> T {
        try await ConfiguredBackend.with(config, body)
    }

    /// The agents whose instances to list: this one and every agent sharing its queue.
    static func owners(_ queue: any TaskQueue, agentID: String) async throws -> Set<String> {
        Set(try await queue.agents().map(\.id)).union([agentID])
    }

    /// What the queue says about the backend's instances: the live attempts of every agent
    /// sharing it.
    struct Claims {
        let held: [HeldTask]

        static func read(_ queue: any TaskQueue) async throws -> Claims {
            Claims(held: try await queue.heldTasks())
        }

        /// The live attempt that claims an instance: by recorded id, else by its label.
        func claim(_ instance: BackendInstance) -> HeldTask? {
            held.first { $0.attempt.instanceID == instance.id }
                ?? held.first { held in
                    held.attempt.instanceID == nil && instance.label.map {
                        $0.taskID == held.task.id && $0.attempt == held.attempt.number
                    } == true
                }
        }
    }

    /// `ergon instances list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the instances this agent owns.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        struct Row: Encodable {
            let id: String
            let agent: String?
            let heldBy: String?
            let state: String
            let image: String?
            let taskId: String?
            let attempt: Int?
            let slug: String?
            let claimed: Bool
        }

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            // The agents first (whose instances to list), then the listing, then the live
            // attempts: an instance listed was claimed before this read, as the agent reads them.
            let owners = try await InstancesCommand.owners(queue, agentID: config.agentID)
            let instances = try await InstancesCommand.withBackend(config) { try await $0.list(owners: owners) }
            let claims = try await InstancesCommand.Claims.read(queue)
            let rows = instances.map { instance in
                let held = claims.claim(instance)
                return Row(
                    id: instance.id, agent: instance.label?.agentID, heldBy: held?.task.agentID, state: instance.stateText,
                    image: instance.image, taskId: instance.label?.taskID.uuidString.lowercased(),
                    attempt: instance.label?.attempt, slug: held?.task.spec.slug, claimed: held != nil)
            }
            if json {
                try printJSON(rows)
            } else if rows.isEmpty {
                print("no instances")
            } else {
                print(TaskTable.table(
                    ["INSTANCE", "STATE", "TASK", "SLUG", "ATTEMPT", "HELD BY", "IMAGE"],
                    rows.map { row in
                        [
                            String(row.id.prefix(12)), row.state, row.taskId.map { String($0.prefix(8)) } ?? "-",
                            row.slug ?? "(orphan)", row.attempt.map(String.init) ?? "-", row.heldBy ?? "-", row.image ?? "-",
                        ]
                    }))
            }
        }
    }

    /// `ergon instances reap`: what an agent's reconciler does to orphans, without an agent.
    struct Reap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy the instances of this agent and the agents sharing its queue that no live task claims.",
            discussion: """
                An instance is an orphan when no live attempt in the queue claims it, by its recorded id or by the task \
                and attempt in its label, whichever agent's label it carries. Instances of agents the queue has never \
                seen are left alone. Safe while agents run: it reads the listing before the claims, as they do.
                """)
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "List the orphans without destroying them.")
        var dryRun = false

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            let owners = try await InstancesCommand.owners(queue, agentID: config.agentID)
            let dryRun = self.dryRun
            let (orphans, failures) = try await InstancesCommand.withBackend(config) { backend in
                let instances = try await backend.list(owners: owners)
                let claims = try await InstancesCommand.Claims.read(queue)
                let orphans = instances.filter { claims.claim($0) == nil }
                var failures: [String] = []
                for instance in orphans {
                    let price = instance.pricePerHour.map { String(format: ", $%.3f/h", $0) } ?? ""
                    let what = "\(instance.id) (\(instance.label.map { "\($0)" } ?? "an unreadable label"), \(instance.stateText)\(price))"
                    if dryRun {
                        print("orphan \(what)")
                        continue
                    }
                    do {
                        try await backend.destroy(instanceID: instance.id)
                        print("destroyed orphan \(what)")
                    } catch {
                        failures.append("\(instance.id): \(error)")
                    }
                }
                return (orphans, failures)
            }
            if orphans.isEmpty { print("no orphans among the instances of \(owners.sorted().joined(separator: ", "))") }
            guard failures.isEmpty else {
                throw EnvironmentError("could not destroy \(failures.count) orphan(s): \(failures.joined(separator: "; "))")
            }
        }
    }

    /// `ergon instances destroy ID`.
    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy an instance this agent owns.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Instance id or a unique prefix of it.")
        var id: String
        @Flag(name: .long, help: "Destroy it even though a live task runs on it (the agent then retries the task).")
        var force = false

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            let owners = try await InstancesCommand.owners(queue, agentID: config.agentID)
            let (force, id) = (self.force, self.id)
            try await InstancesCommand.withBackend(config) { backend in
                let matches = try await backend.list(owners: owners).filter { $0.id.hasPrefix(id) }
                // Read after the listing, so an instance launched meanwhile shows as claimed.
                let claims = try await InstancesCommand.Claims.read(queue)
                guard matches.count == 1, let instance = matches.first else {
                    throw UserError(matches.isEmpty
                        ? "no instance \"\(id)\" belongs to agent \(config.agentID) or an agent sharing its queue"
                        : "\"\(id)\" matches \(matches.count) instances; give more of the id")
                }
                if let held = claims.claim(instance), !force {
                    throw UserError(
                        "instance \(instance.id.prefix(12)) runs task \(held.task.spec.slug) (attempt \(held.attempt.number)); "
                            + "use `ergon tasks cancel \(held.task.id.uuidString.lowercased().prefix(8))`, or pass --force")
                }
                try await backend.destroy(instanceID: instance.id)
                print("destroyed \(instance.id)")
            }
        }
    }
}
