import ArgumentParser
import ErgonCore
import Foundation

/// The `ergon` command line.
public struct ErgonCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ergon",
        abstract: "Run GPU tasks from a queue on the local Docker engine or on rented Vast.ai instances.",
        subcommands: [
            AgentCommand.self, SubmitCommand.self, TasksCommand.self, WorkflowsCommand.self, OffersCommand.self,
            InstancesCommand.self, AgentsCommand.self, CacheCommand.self, ConfigCommand.self, VastSimCommand.self, BenchS3Command.self,
            BenchQueueCommand.self, GCCommand.self,
        ])

    public init() {}

    /// Runs the command line: user errors exit 2 with one message, other failures exit 1.
    public static func runMain(_ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as UserError {
            FileHandle.standardError.write(Data("ergon: \(error.message)\n".utf8))
            return 2
        } catch let error as EnvironmentError {
            FileHandle.standardError.write(Data("ergon: \(error.message)\n".utf8))
            return 1
        } catch let error as ExitCode {
            return error.rawValue
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                return 0
            }
            if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            // Usage mistakes are user errors like any other.
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}
