import ArgumentParser
import ErgonCore
import Foundation

/// `ergon agents`: the agents sharing the queue.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Show the agents sharing the queue.", subcommands: [List.self])

    /// `ergon agents list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the agents the queue knows: mode, host, last heartbeat, lease, and tasks held.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        /// One agent as listed.
        struct Row: Encodable {
            let id: String
            let mode: String
            let host: String
            let pid: Int
            let scope: String
            let startedAt: Date
            let lastHeartbeat: Date
            let leaseExpiresAt: Date
            /// `live`, `expired` (presumed dead: its tasks are taken over) or `stopped`.
            let status: String
            let tasksHeld: Int
            /// Why a live agent orders nothing new (a money cap is reached); nil otherwise.
            let holding: String?
        }

        func run() async throws {
            let config = try options.load()
            let queue = try await config.openQueue()
            let rows = try await mappingQueueErrors { try await Self.rows(queue, now: Date()) }
            if json {
                try printJSON(rows)
            } else if rows.isEmpty {
                print("no agent has used this queue yet")
            } else {
                let now = Date()
                print(TaskTable.table(
                    ["AGENT", "MODE", "HOST", "STATUS", "LAST HEARTBEAT", "TASKS HELD"],
                    rows.map { row in
                        [
                            row.id, row.mode, "\(row.host) (pid \(row.pid))", row.status,
                            "\(Reconciler.format(max(0, now.timeIntervalSince(row.lastHeartbeat)))) ago",
                            String(row.tasksHeld),
                        ]
                    }))
                for row in rows where row.holding != nil {
                    print("\(row.id) orders nothing new: \(row.holding!)")
                }
            }
        }

        /// The queue's agents with the number of tasks each holds.
        static func rows(_ queue: any TaskQueue, now: Date) async throws -> [Row] {
            let held = try await queue.heldTasks()
            return try await queue.agents().map { agent in
                Row(
                    id: agent.id, mode: agent.mode, host: agent.host, pid: agent.pid, scope: agent.scope,
                    startedAt: agent.startedAt, lastHeartbeat: agent.heartbeatAt, leaseExpiresAt: agent.leaseExpiresAt,
                    status: agent.stoppedAt != nil ? "stopped" : agent.isLive(at: now) ? "live" : "expired",
                    tasksHeld: held.filter { $0.task.agentID == agent.id }.count,
                    holding: agent.isLive(at: now) && agent.stoppedAt == nil ? agent.holding : nil)
            }
        }
    }
}
