import Foundation
import Logging

/// Everything a simulator is started with. The defaults give a quick, permissive market: any
/// non-empty API key, 200 offers, instances that load for 2 s and run for 10 s.
public struct SimulatorOptions: Sendable {
    /// The address to listen on; loopback by default (the API has no TLS and weak auth).
    public var host: String = "127.0.0.1"
    /// The port; 0 picks a free one (read it from ``VastSimulatorServer/port()``).
    public var port: Int = 0
    /// The number of offers on the market.
    public var offerCount: Int = 200
    /// The seed of the market and (unless the fault plan has its own) of fault decisions.
    public var seed: UInt64 = 1
    /// The only account key accepted (`Authorization: Bearer KEY` or `?api_key=KEY`); nil accepts
    /// any non-empty key. A wrong key is answered 404 `auth_error`, a missing one 401.
    public var apiKey: String?
    /// The simulator's time; pass ``SimulatedClock/manual(startingAt:)`` to drive it from a test.
    public var clock: SimulatedClock = .system()
    /// What synthetic instances run unless their image or env says otherwise (see ``SimulatedProgram``).
    public var defaultProgram = SimulatedProgram()
    /// Programs by image reference (exactly as the create's `image`), overriding ``defaultProgram``.
    public var programs: [String: SimulatedProgram] = [:]
    /// How many times a log `result_url` answers 404 before its text (the CLI polls 30 × 0.3 s).
    public var logNotReadyCount: Int = 2
    /// Offers a search returns when it sends no `limit`.
    public var defaultSearchLimit: Int = 64
    /// The storage a search prices when it sends no `allocated_storage`, GB (the CLI's default).
    public var defaultAllocatedStorage: Double = 5
    /// The most instances a page of `GET /api/v1/instances/` holds (the API caps `limit` at 25).
    public var maximumPageSize: Int = 25
    /// Limits on a create's `env` as the docs state them: characters per `KEY=VALUE`, and in all;
    /// nil lifts a limit.
    public var envEntryLimit: Int? = 256
    /// See ``envEntryLimit``.
    public var envTotalLimit: Int? = 32 * 1024
    /// Failures to inject.
    public var faults: FaultPlan = .none
    /// A market whose hosts behave as their offers say (``FaultyMarket``): the cheap end is
    /// full of slow links and flaky hosts, loading takes the image's download time over the
    /// machine's `inet_down`, and an instance is interrupted with its host's unreliability.
    /// Nil: the plain market, where every host loads in ``SimulatedProgram/loadSeconds``.
    public var faultyMarket: FaultyMarket?
    /// The Docker engine socket for `--docker` mode (each instance runs its image for real);
    /// nil simulates instances without running anything.
    public var dockerSocket: String?
    /// The credit of the simulated account, $; spending is subtracted as instances bill.
    public var initialCredit: Double = 100
    /// Where the simulator logs requests and Docker trouble.
    public var logger = Logger(label: "ergon.vast-sim")
    /// Called once the server listens, with its port (to print it when ``port`` is 0).
    public var onListening: (@Sendable (Int) -> Void)?

    /// Options with every default.
    public init() {}

    /// The program a create of `image` with `env` runs.
    func program(image: String, env: [String: String]) -> SimulatedProgram {
        (programs[image] ?? defaultProgram).overridden(by: env)
    }
}
