import CoreMetrics

/// The agent's metrics, recorded through swift-metrics: the agent command bootstraps a
/// Prometheus backend and the server's `GET /metrics` renders it; without a bootstrap every
/// call is a no-op.
///
/// Every function takes the `factory` to record into (the bootstrapped one by default), so a
/// test can record into a registry of its own, whatever else runs in the process.
public enum ErgonMetrics {
    /// The names, in one place: the README's metrics table lists the same.
    public enum Name {
        public static let tickSeconds = "ergon_scheduler_tick_seconds"
        public static let tasks = "ergon_tasks"
        public static let instances = "ergon_instances"
        public static let spendPerHour = "ergon_spend_dollars_per_hour"
        public static let spend = "ergon_spend_dollars"
        public static let vastCalls = "ergon_vast_api_calls_total"
        public static let vastErrors = "ergon_vast_api_errors_total"
        public static let logBytesShipped = "ergon_log_bytes_shipped_total"
    }

    /// The task states an agent holds tasks in: each is written on every tick, 0 when empty.
    public static let heldTaskStates: [TaskState] = [.running, .stopping]

    /// The instance states (``instanceState(_:)``): each is written on every tick, 0 when empty.
    public static let instanceStates = ["provisioning", "running", "exited", "ended", "failed_start", "lost"]

    /// How long one scheduler tick took (listing the backend, reading the queue, deciding).
    public static func tick(duration: Duration, factory: any MetricsFactory = MetricsSystem.factory) {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        CoreMetrics.Timer(label: Name.tickSeconds, factory: factory).recordNanoseconds(nanoseconds)
    }

    /// The tasks this agent holds, by state. Every held state is written, so a state whose last
    /// task left reads 0 rather than its old count; a state outside them is written as given.
    public static func tasks(byState counts: [TaskState: Int], factory: any MetricsFactory = MetricsSystem.factory) {
        let states = Set(heldTaskStates.map(\.rawValue)).union(counts.keys.map(\.rawValue))
        let byName = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        setGauges(Name.tasks, states: states, counts: byName, factory: factory)
    }

    /// This agent's live instances, by ``instanceState(_:)``. Every state of ``instanceStates``
    /// is written, so one whose last instance went away reads 0.
    public static func instances(byState counts: [String: Int], factory: any MetricsFactory = MetricsSystem.factory) {
        setGauges(Name.instances, states: Set(instanceStates).union(counts.keys), counts: counts, factory: factory)
    }

    /// What the live instances cost per hour now, and what was spent over the budget period,
    /// in dollars.
    public static func spend(perHour: Double, total: Double, factory: any MetricsFactory = MetricsSystem.factory) {
        Gauge(label: Name.spendPerHour, factory: factory).record(perHour)
        Gauge(label: Name.spend, factory: factory).record(total)
    }

    /// One request sent to the Vast API, by operation (`search_offers`, `create_instance`, …;
    /// never an id or the key), and its failure kind when it failed (`rate_limited`, `server`, …).
    public static func vastCall(endpoint: String, failure: String?, factory: any MetricsFactory = MetricsSystem.factory) {
        Counter(label: Name.vastCalls, dimensions: [("endpoint", endpoint)], factory: factory).increment()
        guard let failure else { return }
        Counter(label: Name.vastErrors, dimensions: [("endpoint", endpoint), ("kind", failure)], factory: factory).increment()
    }

    /// Log bytes the store took that it did not have before.
    public static func logBytesShipped(_ bytes: Int64, factory: any MetricsFactory = MetricsSystem.factory) {
        guard bytes > 0 else { return }
        Counter(label: Name.logBytesShipped, factory: factory).increment(by: bytes)
    }

    /// The `state` label of an instance: the kind of its status, without the details.
    public static func instanceState(_ status: BackendInstance.Status) -> String {
        switch status {
        case .provisioning: return "provisioning"
        case .running: return "running"
        case .exited: return "exited"
        case .ended: return "ended"
        case .failedStart: return "failed_start"
        case .lost: return "lost"
        }
    }

    private static func setGauges(
        _ name: String, states: Set<String>, counts: [String: Int], factory: any MetricsFactory
    ) {
        for state in states.sorted() {
            Gauge(label: name, dimensions: [("state", state)], factory: factory).record(Double(counts[state] ?? 0))
        }
    }
}
