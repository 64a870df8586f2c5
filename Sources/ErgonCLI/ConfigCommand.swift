import ArgumentParser
import ErgonCore
import Foundation

/// `ergon config`: configuration tools.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check configuration files.", subcommands: [Check.self, StopTimeout.self])

    /// `ergon config check FILE`: validates a configuration; exit 0 when valid, 2 otherwise.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file (exit 0 when valid, 2 otherwise).")

        @Argument(help: "The configuration file.")
        var file: String

        func run() async throws {
            let config = try ConfigOption.load(file: file)
            let environment = ProcessInfo.processInfo.environment
            for warning in SecretFileCheck.warnings(configPath: file, config: config, environment: environment) {
                FileHandle.standardError.write(Data("ergon: warning: \(warning)\n".utf8))
            }
            print("\(file): OK")
            print("  agent.id       \(config.agentID)")
            print("  mode           \(config.mode.rawValue)")
            print("  data_dir       \(config.dataDir)")
            print("  queue          \(config.queue)")
            print("  logs.store     \(config.logStore), flushed every \(Reconciler.format(config.logFlushInterval.seconds))")
            if config.logStore.isS3 {
                let endpoint = config.s3.endpoint ?? "AWS"
                let token = config.s3.sessionToken == nil ? "" : ", with a session token"
                print("  s3             \(endpoint), region \(config.s3.region), access key \(config.s3.accessKeyID ?? "-") (secret hidden\(token))")
            }
            print("  docker.socket  \(config.docker.socket)")
            print("  parallel tasks \(config.scheduler.maxParallelTasks), poll every \(Reconciler.format(config.scheduler.pollInterval.seconds)), default timeout \(Reconciler.format(config.scheduler.defaultTimeout.seconds))")
        }
    }
}

