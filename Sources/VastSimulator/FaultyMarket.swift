import Foundation

/// A market where the cheapest offer per hour is often not the cheapest result: what
/// `Scripts/bench ranking` runs the `price` and `effective_cost` rankings against.
///
/// - Among the machines priced in the lower ``cheapShare`` of their GPU model's band, about
///   half get a slow link (`inet_down` 5–25 Mb/s) and the other half a flaky host
///   (reliability 0.55–0.8). The rest of the market is left as the seed made it.
/// - Loading takes the program's ``SimulatedProgram/loadSeconds`` plus the image's download:
///   `SIM_IMAGE_BYTES` (a create's env; default ``defaultImageBytes``) × 8 over `inet_down`
///   Mb/s, times ``timeScale``.
/// - An instance is interrupted (the stopped triple, no end of output) with probability
///   `1 − reliability` of its machine, at a point 20–80% into its run.
///
/// Decisions come from the simulator's seed and the instance id, so a run repeats.
public struct FaultyMarket: Sendable, Equatable {
    /// The share of each model's price band counted as its cheap end.
    public var cheapShare: Double = 0.35
    /// Simulated seconds per real second of download: below 1 to run a long day in minutes.
    public var timeScale: Double = 1
    /// The image size assumed when a create's env sets no `SIM_IMAGE_BYTES`.
    public static let defaultImageBytes: Double = 4e9

    public init(cheapShare: Double = 0.35, timeScale: Double = 1) {
        self.cheapShare = cheapShare
        self.timeScale = timeScale
    }

    /// `machine` as this market makes it: a cheap machine may get a slow link or a flaky host.
    func degrade(_ machine: MachineProfile, using random: inout SeededGenerator) -> MachineProfile {
        let band = machine.model.price
        let position = (machine.pricePerGPU - band.lowerBound) / max(band.upperBound - band.lowerBound, 1e-9)
        guard position <= cheapShare else { return machine }
        var degraded = machine
        if random.chance(0.5) {
            degraded.inetDown = Double.random(in: 5...25, using: &random).rounded()
            degraded.inetUp = (degraded.inetDown * Double.random(in: 0.3...1.0, using: &random)).rounded()
        } else {
            degraded.reliability = Double.random(in: 0.55...0.8, using: &random)
        }
        return degraded
    }

    /// Seconds an instance of `offer` loads for, given the program's own and the create's env.
    func loadSeconds(program: SimulatedProgram, offer: SimulatedOffer, env: [String: String]) -> Double {
        let bytes = env["SIM_IMAGE_BYTES"].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? Self.defaultImageBytes
        let megabits = max(offer.inetDown, 1)
        return program.loadSeconds + bytes * 8 / (megabits * 1e6) * timeScale
    }

    /// How far into its run an instance of `offer` is interrupted, if it is: drawn from the
    /// simulator's seed and the instance's id.
    func interruption(instanceID: Int, offer: SimulatedOffer, runSeconds: Double, seed: UInt64) -> Double? {
        var random = SeededGenerator(seed: seed ^ UInt64(truncatingIfNeeded: instanceID), stream: 7)
        guard random.chance(1 - offer.reliability) else { return nil }
        return runSeconds * Double.random(in: 0.2...0.8, using: &random)
    }
}
