import ErgonCore
import Foundation
import Testing

@testable import ErgonVast

/// `EffectiveCost` on synthetic markets: each row is an offer, its expected provisioning,
/// failure probability and dollars.
@Suite("Effective-cost ranking")
struct EffectiveCostTests {
    static func offer(_ id: Int, machine: Int? = nil, dph: Double, reliability: Double = 1, inetDown: Double? = 1000) -> VastOffer {
        VastOffer(id: id, machineID: machine ?? id, gpuName: "RTX 4090", gpuRAM: 24, dphTotal: dph, reliability: reliability, inetDown: inetDown)
    }

    /// A 4 GB image, a one-hour run.
    static let inputs = EffectiveCost.Inputs(imageBytes: 4e9, imageSizeSource: "image_size_hint", runSeconds: 3600, runSource: "expected_runtime")

    /// One row: an offer, then its expected provisioning seconds, failure probability and dollars.
    struct Row: Sendable, CustomTestStringConvertible {
        var offer: VastOffer
        var provisioning: Double
        var failure: Double
        var dollars: Double
        var testDescription: String { "offer \(offer.id)" }
    }

    static let rows: [Row] = {
        let run = 3600.0
        let half = run / 2
        return [
            // A perfect host on a 1 Gb/s link: 32 s of download + 60 s of start, no failure.
            Row(offer: offer(1, dph: 0.40), provisioning: 92, failure: 0, dollars: 0.40 * (92 + run) / 3600),
            // A 10 Mb/s link: 3200 s of download.
            Row(offer: offer(2, dph: 0.40, inetDown: 10), provisioning: 3260, failure: 0, dollars: 0.40 * (3260 + run) / 3600),
            // Reliability 0.9: a tenth of a failed attempt (provisioning and half the run) on top.
            Row(offer: offer(3, dph: 0.40, reliability: 0.9), provisioning: 92, failure: 0.1,
                dollars: 0.40 * (92 + run) / 3600 + 0.1 * 0.40 * (92 + half) / 3600),
            // No inet_down: 100 Mb/s is assumed.
            Row(offer: offer(4, dph: 0.40, inetDown: nil), provisioning: 380, failure: 0, dollars: 0.40 * (380 + run) / 3600),
        ]
    }()

    @Test("each input moves the score as the formula says", arguments: rows)
    func formula(row: Row) {
        let score = EffectiveCost.score(row.offer, Self.inputs)
        #expect(abs(score.provisioningSeconds - row.provisioning) < 1e-9)
        #expect(abs(score.failureProbability - row.failure) < 1e-9)
        #expect(abs(score.dollars - row.dollars) < 1e-9)
    }

    @Test func observedProvisioningAndRecordedFailuresOverrideTheEstimates() {
        var inputs = Self.inputs
        inputs.observedProvisioning = [7: [900, 300, 600]]
        inputs.failures = [7: 2]
        let score = EffectiveCost.score(Self.offer(70, machine: 7, dph: 0.40, reliability: 0.99), inputs)
        #expect(score.provisioningSeconds == 600)
        #expect(score.provisioningSource == "observed on machine 7 (3 times)")
        #expect(abs(score.failureProbability - (0.01 + 2 * EffectiveCost.failurePenalty)) < 1e-9)
        inputs.failures = [7: 9]
        #expect(EffectiveCost.score(Self.offer(70, machine: 7, dph: 0.40), inputs).failureProbability == EffectiveCost.maximumFailureProbability)
    }

    @Test func theGPUModelsObservedProvisioningRaisesTheDownloadEstimate() {
        var inputs = Self.inputs
        inputs.observedProvisioning = [7: [100]]
        inputs.observedProvisioningByGPU = ["RTX 4090": [400, 200, 900, 300]]
        // The machine's own record first; then its GPU model's when longer than the download.
        #expect(EffectiveCost.score(Self.offer(70, machine: 7, dph: 0.40), inputs).provisioningSeconds == 100)
        let byModel = EffectiveCost.score(Self.offer(80, machine: 8, dph: 0.40), inputs)
        #expect(byModel.provisioningSeconds == 350)
        #expect(byModel.provisioningSource == "observed on RTX 4090 machines (4 times), above the download estimate")
        // A slow link keeps its own, longer time: 4 GB at 10 Mb/s is 3200 s, plus 60.
        let slow = EffectiveCost.score(Self.offer(81, machine: 9, dph: 0.40, inetDown: 10), inputs)
        #expect(slow.provisioningSeconds == 3260)
        #expect(slow.provisioningSource == "image 4.0 GB over inet_down 10 Mb/s + 60s")
        let other = VastOffer(id: 90, machineID: 9, gpuName: "A100 SXM4", gpuRAM: 80, dphTotal: 0.4, reliability: 1, inetDown: 1000)
        #expect(EffectiveCost.score(other, inputs).provisioningSource == "image 4.0 GB over inet_down 1000 Mb/s + 60s")
    }

    @Test("the run time: expected_runtime, else the median of past runs, else the timeout, else an hour")
    func runTimeSources() {
        #expect(EffectiveCost.runTime(expected: 600, past: [60, 90], timeout: 7200) == (600, "expected_runtime"))
        #expect(EffectiveCost.runTime(expected: nil, past: [60, 300, 90], timeout: 7200) == (90, "median of 3 past runs of this slug and image"))
        #expect(EffectiveCost.runTime(expected: nil, past: [120], timeout: 7200) == (120, "median of 1 past run of this slug and image"))
        #expect(EffectiveCost.runTime(expected: nil, past: [], timeout: 7200) == (7200, "the timeout"))
        #expect(EffectiveCost.runTime(expected: nil, past: [], timeout: nil) == (3600, "no timeout: 1h assumed"))
    }

    @Test("the image size: the registry's manifest, else image_size_hint, else 5 GB assumed")
    func imageSizeSources() {
        #expect(EffectiveCost.imageSize(registry: 734_004_434, hint: 8_000_000_000) == (734_004_434, "registry manifest"))
        #expect(EffectiveCost.imageSize(registry: nil, hint: 8_000_000_000) == (8e9, "image_size_hint"))
        #expect(EffectiveCost.imageSize(registry: nil, hint: nil) == (nil, "unknown: 5 GB assumed"))
    }

    @Test("gather reads the machine and GPU-model provisioning times and the failures from the host record")
    func gatherReadsTheHostRecord() async {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let hosts = HostReputation(path: nil, now: { start })
        await hosts.record(machine: "7", .init(kind: .provisioned, at: start, seconds: 240, gpu: "RTX 4090"))
        await hosts.record(machine: "8", .init(kind: .provisioned, at: start, seconds: 120, gpu: "RTX 4090"))
        await hosts.record(machine: "8", .init(kind: .lost, at: start, reason: "offline"))
        let inputs = await EffectiveCost.Inputs.gather(
            registryImageBytes: nil, imageSizeHint: 2_000_000_000, expectedRuntime: nil, pastRuns: [50, 70], timeout: 3600, hosts: hosts)
        #expect(inputs.observedProvisioning == [7: [240], 8: [120]])
        #expect(inputs.observedProvisioningByGPU["RTX 4090"]?.sorted() == [120, 240])
        #expect(inputs.failures == [8: 1])
        #expect(inputs.runSeconds == 60 && inputs.imageBytes == 2e9 && inputs.imageSizeSource == "image_size_hint")
    }

    @Test func theCheapestPerHourIsNotAlwaysTheCheapestResult() {
        // A slow link and a flaky host undercut a sound one on price and lose on the work's cost.
        let market = [
            Self.offer(1, dph: 0.30, inetDown: 5),
            Self.offer(2, dph: 0.32, reliability: 0.6),
            Self.offer(3, dph: 0.35, reliability: 0.99),
            Self.offer(4, dph: 0.90),
        ]
        let ranked = EffectiveCost.ranked(market, Self.inputs)
        #expect(ranked.map(\.offer.id) == [3, 2, 1, 4])
        // Over a two-day run the download hardly matters: the slow link's lower price wins.
        var long = Self.inputs
        long.runSeconds = 48 * 3600
        #expect(EffectiveCost.ranked(market, long).map(\.offer.id) == [1, 3, 2, 4])
    }

    @Test func tiesFallBackToPriceReliabilityAndID() {
        let market = [Self.offer(9, dph: 0.5), Self.offer(5, dph: 0.5), Self.offer(6, dph: 0.5)]
        #expect(EffectiveCost.ranked(market, Self.inputs).map(\.offer.id) == [5, 6, 9])
    }
}
