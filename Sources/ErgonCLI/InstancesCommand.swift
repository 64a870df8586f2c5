import ArgumentParser
import ErgonCore
import ErgonDocker
import Foundation

/// `ergon instances`: what the agent owns in its backend.
struct InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances", abstract: "List or destroy what this agent owns in its backend.",
        subcommands: [List.self, Destroy.self])

    /// Runs `body` with the configured backend.
    static func withBackend<T: Sendable>(_ config: ErgonConfig, _ body: (any Backend) async throws -> T) async throws -> T {
        try await ConfiguredBackend.with(config, body)
    }

    /// Which live attempt claims each instance id.
    static func claims(_ queue: any TaskQueue, agentID: String) async throws -> [String: HeldTask] {
        var result: [String: HeldTask] = [:]
        for held in try await queue.heldTasks(agentID: agentID) {
            if let id = held.attempt.instanceID { result[id] = held }
        }
        return result
    }

    /// `ergon instances list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the instances this agent owns.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        struct Row: Encodable {
            let id: String
            let state: String
            let image: String?
            let taskId: String?
            let attempt: Int?
            let slug: String?
            let claimed: Bool
        }

        func run() async throws {
            let config = try options.load()
            let queue = try config.openQueue()
            let instances = try await InstancesCommand.withBackend(config) { try await $0.list() }
            let claims = try await InstancesCommand.claims(queue, agentID: config.agentID)
            let rows = instances.map { instance in
                Row(
                    id: instance.id, state: instance.stateText, image: instance.image,
                    taskId: instance.label?.taskID.uuidString.lowercased(), attempt: instance.label?.attempt,
                    slug: claims[instance.id]?.task.spec.slug, claimed: claims[instance.id] != nil)
            }
            if json {
                try printJSON(rows)
            } else if rows.isEmpty {
                print("no instances")
            } else {
                print(TaskTable.table(
                    ["INSTANCE", "STATE", "TASK", "SLUG", "ATTEMPT", "IMAGE"],
                    rows.map { row in
                        [
                            String(row.id.prefix(12)), row.state, row.taskId.map { String($0.prefix(8)) } ?? "-",
                            row.slug ?? "(orphan)", row.attempt.map(String.init) ?? "-", row.image ?? "-",
                        ]
                    }))
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
            let queue = try config.openQueue()
            let claims = try await InstancesCommand.claims(queue, agentID: config.agentID)
            let (force, id) = (self.force, self.id)
            try await InstancesCommand.withBackend(config) { backend in
                let matches = try await backend.list().filter { $0.id.hasPrefix(id) }
                guard matches.count == 1, let instance = matches.first else {
                    throw UserError(matches.isEmpty
                        ? "no instance \"\(id)\" belongs to agent \(config.agentID)"
                        : "\"\(id)\" matches \(matches.count) instances; give more of the id")
                }
                if let held = claims[instance.id], !force {
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
