import ErgonVast

/// What a simulator has seen and done: `GET /__sim/stats`.
public struct SimulatorStats: Sendable, Equatable {
    /// Requests received per endpoint (``SimulatorEndpoint`` raw values), faulted ones included.
    public var requests: [String: Int]
    /// Instances not destroyed.
    public var liveInstances: Int
    /// Instances created since the start.
    public var createdInstances: Int
    /// Creates per label given at create (`""` for none).
    public var createsPerLabel: [String: Int]
    /// Seconds billed per current label (`""` for none): from create until destroyed, or now.
    public var billedSeconds: [String: Double]
    /// Faults injected per kind.
    public var faultsInjected: [String: Int]

    /// The statistics as `GET /__sim/stats` writes them.
    public var json: JSONValue {
        [
            "requests": .object(requests.mapValues { .number(Double($0)) }),
            "live_instances": .number(Double(liveInstances)),
            "created_instances": .number(Double(createdInstances)),
            "creates_per_label": .object(createsPerLabel.mapValues { .number(Double($0)) }),
            "billed_seconds": .object(billedSeconds.mapValues { .number(SimulatedOffer.rounded($0)) }),
            "faults_injected": .object(faultsInjected.mapValues { .number(Double($0)) }),
        ]
    }

    /// Requests received at `endpoint`.
    public func requests(_ endpoint: SimulatorEndpoint) -> Int {
        requests[endpoint.rawValue] ?? 0
    }
}
