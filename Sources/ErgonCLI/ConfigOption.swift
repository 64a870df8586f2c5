import ArgumentParser
import ErgonCore
import ErgonPostgres
import ErgonSQLite
import ErgonVast
import Foundation

/// `--config FILE`, shared by every command that reads the configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: ergon.yaml in the current directory).")
    var config: String = "ergon.yaml"

    /// Loads and validates `file` without saying which file it read (`config` subcommands,
    /// which name it themselves).
    static func load(file: String) throws -> ErgonConfig {
        var option = ConfigOption()
        option.config = file
        return try option.load(quiet: true)
    }

    /// Loads and validates the configuration, saying on standard error which file it read.
    func load(quiet: Bool = false) throws -> ErgonConfig {
        let path = config
        guard FileManager.default.fileExists(atPath: path) else {
            let hint = path == "ergon.yaml"
                ? " in \(FileManager.default.currentDirectoryPath); pass --config FILE, or start from config.example.yaml"
                : ""
            throw UserError("\(path): no such configuration file\(hint)")
        }
        do {
            let loaded = try ConfigLoader.load(
                path: path, environment: ProcessInfo.processInfo.environment, checkOfferFilters: OfferQuery.configCheck)
            if !quiet { FileHandle.standardError.write(Data("ergon: using config \(path)\n".utf8)) }
            return loaded
        } catch {
            throw UserError(error.description)
        }
    }
}

extension ErgonConfig {
    /// Opens the queue this configuration names (PostgreSQL: connects and brings the schema
    /// up to date).
    func openQueue() async throws -> any TaskQueue {
        switch queue {
        case .postgres(let location):
            do {
                return try await PostgresTaskQueue.open(location)
            } catch let error as QueueError {
                throw error.forCLI
            } catch {
                throw EnvironmentError("cannot open the queue \(self.queue): \(error)")
            }
        case .sqlite(let path):
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                return try SQLiteTaskQueue(path: path, wakeupFile: wakeupFile)
            } catch let error as QueueError {
                throw error.forCLI
            } catch let error as SQLiteQueueError {
                throw EnvironmentError(error.description)  // already names the file
            } catch {
                throw EnvironmentError("cannot open the queue \(self.queue): \(error)")
            }
        }
    }

}
