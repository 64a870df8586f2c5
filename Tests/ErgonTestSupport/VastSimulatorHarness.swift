import ErgonVast
import Foundation
import Logging
import VastSimulator

/// A Vast simulator running in-process for one test, and what the test needs to talk to it.
public struct VastSimulatorHarness: Sendable {
    /// The running server.
    public let server: VastSimulatorServer
    /// `http://127.0.0.1:PORT`: the API base URL (the official CLI's `--url`).
    public let baseURL: String
    /// The port it listens on.
    public let port: Int
    /// An API key the simulator accepts.
    public let apiKey: String

    /// The simulated account and market, for assertions.
    public var vast: SimulatedVast { server.vast }
    /// The simulator's clock: advance it to move instances along.
    public var clock: SimulatedClock { server.options.clock }

    /// The statistics so far.
    public func stats() async -> SimulatorStats {
        await vast.stats()
    }

    /// Moves simulated time forward.
    public func advance(by seconds: Double) {
        clock.advance(by: seconds)
    }
}

extension SimulatorOptions {
    /// Options for a test: a manual clock (time moves only when the test says so), a fixed key,
    /// a small market, and log URLs that are ready at the second poll.
    public static func forTesting(seed: UInt64 = 1, offers: Int = 200, apiKey: String = "sim-test-key") -> SimulatorOptions {
        var options = SimulatorOptions()
        options.seed = seed
        options.offerCount = offers
        options.apiKey = apiKey
        options.clock = .manual()
        options.logNotReadyCount = 1
        options.logger.logLevel = .warning
        return options
    }
}

/// Starts a simulator on a free loopback port, runs `body` with it, and stops it afterwards, even
/// when `body` throws. Without an API key in `options`, the harness uses `sim-test-key` (the
/// simulator then accepts any non-empty key).
public func withVastSimulator<Result: Sendable>(
    _ options: SimulatorOptions = .forTesting(), _ body: (VastSimulatorHarness) async throws -> Result
) async throws -> Result {
    var options = options
    options.port = 0
    options.host = "127.0.0.1"
    let key = options.apiKey ?? "sim-test-key"
    return try await VastSimulatorServer.withRunning(options: options) { server in
        let harness = VastSimulatorHarness(
            server: server, baseURL: try await server.baseURL(), port: try await server.port(), apiKey: key)
        return try await body(harness)
    }
}
