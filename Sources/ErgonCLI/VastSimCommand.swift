import ArgumentParser
import ErgonCore
import Foundation
import Logging
import VastSimulator

/// `ergon vast-sim`: a Vast API look-alike on 127.0.0.1 for tests, demos and rehearsing a
/// config without spending money. Point `vast_api.url` (or `vastai --url`) at it.
struct VastSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vast-sim",
        abstract: "Run the Vast API simulator (a seeded market, instance lifecycle, fault injection).",
        discussion: """
            Without --docker, instances print numbered lines for a while and exit; SIM_* variables in an \
            instance's env script them (SIM_EXIT_CODE, SIM_RUN_SECONDS, SIM_LOAD_SECONDS, SIM_OUTPUT, \
            SIM_LINE_INTERVAL, SIM_SELF_STOP). With --docker each instance runs its image on the local Docker \
            engine with host networking. GET /__sim/stats reports requests, live and created instances, \
            creates per label and billed seconds. Stops on SIGTERM/SIGINT, removing its containers.
            """)

    @Option(name: .long, help: "The port to listen on, on 127.0.0.1 (0: any free port; the port is printed).")
    var port: Int = 8765
    @Option(name: .long, help: "How many offers the market holds.")
    var offers: Int = 200
    @Option(name: .long, help: "The market's seed: the same seed gives the same market.")
    var seed: UInt64 = 1
    @Flag(name: .long, help: "Run each instance's image for real on the local Docker engine.")
    var docker = false
    @Option(name: .customLong("docker-socket"), help: "The Docker engine's socket for --docker.")
    var dockerSocket: String = "/var/run/docker.sock"
    @Option(name: .long, help: "A JSON fault file (see the README: 429s, 5xx, offers taken, stuck loading, …).")
    var faults: String?
    @Option(name: .customLong("api-key"), help: "The only API key accepted (default: any non-empty key).")
    var apiKey: String?
    @Option(name: .customLong("run-seconds"), help: "How long a synthetic instance's command runs.")
    var runSeconds: Double = 10
    @Option(name: .customLong("load-seconds"), help: "How long an instance stays loading.")
    var loadSeconds: Double = 2
    @Option(name: .long, help: ArgumentHelp(
        "plain, or faulty: the cheap end of the market has slow links and flaky hosts, instances load for their image's download over inet_down (SIM_IMAGE_BYTES, default 4 GB) and are interrupted with their host's unreliability.",
        valueName: "plain|faulty"))
    var market: String = "plain"
    @Option(name: .customLong("time-scale"), help: "With --market faulty: simulated download seconds per second (below 1 runs a long download in a moment).")
    var timeScale: Double = 1
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard offers >= 0 else { throw ValidationError("--offers must be 0 or more") }
        guard runSeconds >= 0, loadSeconds >= 0 else { throw ValidationError("--run-seconds and --load-seconds must be 0 or more") }
        guard ["plain", "faulty"].contains(market) else { throw ValidationError("--market must be plain or faulty, got \"\(market)\"") }
        guard timeScale > 0, timeScale <= 1000 else { throw ValidationError("--time-scale must be above 0 and at most 1000") }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw UserError("--log-level: unknown level \"\(logLevel)\"")
        }
        LogSetup.bootstrap(level: level)
        var options = SimulatorOptions()
        options.port = port
        options.offerCount = offers
        options.seed = seed
        options.apiKey = apiKey
        options.defaultProgram = SimulatedProgram(loadSeconds: loadSeconds, runSeconds: runSeconds)
        if docker { options.dockerSocket = dockerSocket }
        if market == "faulty" { options.faultyMarket = FaultyMarket(timeScale: timeScale) }
        if let faults {
            do {
                options.faults = try FaultPlan(contentsOf: URL(fileURLWithPath: faults))
            } catch {
                throw UserError("\(error)")
            }
        }
        let (offers, seed, docker) = (offers, seed, docker)
        options.onListening = { port in
            let line = "ergon vast-sim listening on http://127.0.0.1:\(port) (\(offers) offers, seed \(seed)\(docker ? ", docker" : ""))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        options.logger = Logger(label: "ergon.vast-sim")
        do {
            try await VastSimulatorServer(options: options).runUntilSignalled()
        } catch let error as SimulatorStartError {
            throw EnvironmentError(error.description)
        }
    }
}
