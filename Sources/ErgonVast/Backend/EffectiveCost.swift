import ErgonCore
import Foundation

/// The expected cost of getting one task's work done on an offer: what the hourly price
/// buys is not the run alone but the provisioning before it and, sometimes, a failed attempt.
///
/// `score = dph × (provisioning + run) + P(failure) × dph × (provisioning + run / 2)`, in
/// dollars, with times in hours: a failed attempt pays its provisioning and, on average, half
/// its run before the task is ordered again elsewhere.
///
/// - Provisioning: what this agent observed on the machine (the median of its last
///   provisioning times), else the image's size (from its registry manifest, else the task's
///   `image_size_hint`) over the offer's `inet_down` plus a fixed start-up allowance
///   (``startupSeconds``), raised to what machines with the same GPU model took when that is
///   longer.
/// - Run: the task's `expected_runtime`, else the median of the past runs of the same slug
///   and image, else its timeout.
/// - Failure: `1 − reliability`, raised by ``failurePenalty`` for each failure the agent
///   recorded on the machine (an excluded machine is not offered at all), at most
///   ``maximumFailureProbability``.
///
/// Pure: the inputs are gathered by the launch (``Inputs``) and every figure is kept in the
/// ``Score`` so that `ergon tasks show` and the log can say why an offer won.
public enum EffectiveCost {
    /// Seconds a host takes to start an instance besides pulling the image.
    public static let startupSeconds: Double = 60
    /// The image size assumed when neither the registry nor the task gives one.
    public static let assumedImageBytes: Double = 5e9
    /// The download speed assumed for an offer without `inet_down`, in Mb/s.
    public static let assumedInetDown: Double = 100
    /// Added to the failure probability for each failure recorded on the machine.
    public static let failurePenalty: Double = 0.2
    /// The failure probability never exceeds this.
    public static let maximumFailureProbability: Double = 0.95

    /// What a launch knows besides the offers.
    public struct Inputs: Sendable, Equatable {
        /// The image's compressed size in bytes, and where it came from; nil: unknown.
        public var imageBytes: Double?
        public var imageSizeSource: String
        /// The seconds the task is expected to run, and where that came from.
        public var runSeconds: Double
        public var runSource: String
        /// Provisioning times this agent observed, by machine id (seconds, oldest first).
        public var observedProvisioning: [Int: [Double]]
        /// Provisioning times this agent observed on machines of each GPU model (seconds).
        public var observedProvisioningByGPU: [String: [Double]]
        /// Failures this agent recorded, by machine id, within the host record's window.
        public var failures: [Int: Int]

        /// The inputs of one task: the image's size (its registry's figure, else the task's
        /// `vast.image_size_hint`), its run time (`vast.expected_runtime`, else `pastRuns`, else
        /// `timeout`), and what `hosts` recorded on each machine and GPU model.
        public static func gather(
            registryImageBytes: Int64?, imageSizeHint: Int64?, expectedRuntime: Double?, pastRuns: [Double], timeout: Double?,
            hosts: HostReputation
        ) async -> Inputs {
            let run = EffectiveCost.runTime(expected: expectedRuntime, past: pastRuns, timeout: timeout)
            let image = EffectiveCost.imageSize(registry: registryImageBytes, hint: imageSizeHint)
            func byMachine<Value>(_ values: [String: Value]) -> [Int: Value] {
                Dictionary(values.compactMap { key, value in Int(key).map { ($0, value) } }) { first, _ in first }
            }
            return Inputs(
                imageBytes: image.bytes, imageSizeSource: image.source, runSeconds: run.seconds, runSource: run.source,
                observedProvisioning: byMachine(await hosts.provisioningTimes()),
                observedProvisioningByGPU: await hosts.provisioningTimesByGPU(), failures: byMachine(await hosts.recentFailures()))
        }

        public init(
            imageBytes: Double?, imageSizeSource: String, runSeconds: Double, runSource: String,
            observedProvisioning: [Int: [Double]] = [:], observedProvisioningByGPU: [String: [Double]] = [:],
            failures: [Int: Int] = [:]
        ) {
            self.imageBytes = imageBytes
            self.imageSizeSource = imageSizeSource
            self.runSeconds = runSeconds
            self.runSource = runSource
            self.observedProvisioning = observedProvisioning
            self.observedProvisioningByGPU = observedProvisioningByGPU
            self.failures = failures
        }
    }

    /// One offer's figures and score.
    public struct Score: Sendable, Equatable, Encodable {
        public var offerID: Int
        public var dph: Double
        public var provisioningSeconds: Double
        /// `observed on machine M (n times)`, `observed on RTX 4090 machines (n times)` or
        /// `image N GB over inet_down X Mb/s + 60s`.
        public var provisioningSource: String
        public var runSeconds: Double
        public var failureProbability: Double
        /// The expected dollars of the work: the score offers are ordered by.
        public var dollars: Double
    }

    /// The score of `offer` given `inputs`.
    public static func score(_ offer: VastOffer, _ inputs: Inputs) -> Score {
        let provisioning: Double
        let source: String
        if let seen = inputs.observedProvisioning[offer.machineID], !seen.isEmpty {
            provisioning = median(seen)
            source = "observed on machine \(offer.machineID) (\(times(seen.count)))"
        } else {
            let bytes = inputs.imageBytes ?? assumedImageBytes
            let megabits = offer.inetDown.flatMap { $0 > 0 ? $0 : nil } ?? assumedInetDown
            let download = bytes * 8 / (megabits * 1e6) + startupSeconds
            // The GPU model's record only raises the estimate: its machines' links, and the
            // images they pulled, are not this offer's, so a slow link keeps its own time.
            if let seen = inputs.observedProvisioningByGPU[offer.gpuName], !seen.isEmpty, median(seen) > download {
                provisioning = median(seen)
                source = "observed on \(offer.gpuName) machines (\(times(seen.count))), above the download estimate"
            } else {
                provisioning = download
                source = String(format: "image %.1f GB over inet_down %.0f Mb/s + %.0fs", bytes / 1e9, megabits, startupSeconds)
            }
        }
        let reliability = min(1, max(0, offer.reliability))
        let failures = Double(inputs.failures[offer.machineID] ?? 0)
        let failure = min(maximumFailureProbability, (1 - reliability) + failures * failurePenalty)
        let hours = (provisioning + inputs.runSeconds) / 3600
        let failedHours = (provisioning + inputs.runSeconds / 2) / 3600
        let dollars = offer.dphTotal * hours + failure * offer.dphTotal * failedHours
        return Score(
            offerID: offer.id, dph: offer.dphTotal, provisioningSeconds: provisioning, provisioningSource: source,
            runSeconds: inputs.runSeconds, failureProbability: failure, dollars: dollars)
    }

    /// `offers` ordered by their score, lowest first; ties in the price ranking's order.
    public static func ranked(_ offers: [VastOffer], _ inputs: Inputs) -> [(offer: VastOffer, score: Score)] {
        offers.map { (offer: $0, score: score($0, inputs)) }.sorted { lhs, rhs in
            lhs.score.dollars != rhs.score.dollars
                ? lhs.score.dollars < rhs.score.dollars : VastOffer.cheaperFirst(lhs.offer, rhs.offer)
        }
    }

    /// The run time and where it came from: the hint, else the median of past runs, else the
    /// timeout, else an hour.
    static func runTime(expected: Double?, past: [Double], timeout: Double?) -> (seconds: Double, source: String) {
        if let expected { return (expected, "expected_runtime") }
        if !past.isEmpty { return (median(past), "median of \(past.count) past \(plural(past.count, "run")) of this slug and image") }
        if let timeout { return (timeout, "the timeout") }
        return (3600, "no timeout: 1h assumed")
    }

    /// The image size and where it came from: the registry's manifest, else the task's hint,
    /// else unknown (``assumedImageBytes`` is used).
    static func imageSize(registry: Int64?, hint: Int64?) -> (bytes: Double?, source: String) {
        if let registry { return (Double(registry), "registry manifest") }
        if let hint { return (Double(hint), "image_size_hint") }
        return (nil, String(format: "unknown: %.0f GB assumed", assumedImageBytes / 1e9))
    }

    static func times(_ count: Int) -> String { "\(count) \(plural(count, "time"))" }

    static func plural(_ count: Int, _ word: String) -> String { count == 1 ? word : word + "s" }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
