import ArgumentParser
import ErgonCore
import Foundation

extension ConfigCommand {
    /// `ergon config stop-timeout FILE`: the seconds a graceful stop may take, for a unit's
    /// `TimeoutStopSec` (`Scripts/install-agent` reads it).
    struct StopTimeout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop-timeout",
            abstract: "Print how many seconds a graceful stop of the agent may take (for systemd's TimeoutStopSec).",
            discussion: """
                The provisioning timeout in the file's mode (scheduler.provisioning_timeout, or \
                vast_api.provisioning_timeout in vast mode), which cuts a launch in flight, plus a minute for the \
                last log flush and the sign-off.
                """)

        @Argument(help: "The configuration file.")
        var file: String

        func run() async throws {
            let config = try ConfigOption.load(file: file)
            print(Int(config.stopTimeout.seconds.rounded(.up)))
        }
    }
}
