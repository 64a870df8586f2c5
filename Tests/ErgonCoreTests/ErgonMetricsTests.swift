import ErgonCore
import Foundation
import Prometheus
import Testing

/// Each test records into a registry of its own, so nothing depends on the process-wide
/// metrics bootstrap or on other tests running at the same time.
@Suite("Ergon metrics")
struct ErgonMetricsTests {
    let registry = PrometheusCollectorRegistry()
    var factory: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// The rendered exposition text, one line each.
    var lines: [String] { registry.emitToString().split(separator: "\n").map(String.init) }

    @Test("tasks and instances by state: every state is written, and a state that empties reads 0")
    func gaugesByState() {
        ErgonMetrics.tasks(byState: [.running: 3, .stopping: 1], factory: factory)
        ErgonMetrics.instances(byState: ["running": 2, "provisioning": 1], factory: factory)
        #expect(lines.contains(#"ergon_tasks{state="running"} 3.0"#))
        #expect(lines.contains(#"ergon_tasks{state="stopping"} 1.0"#))
        #expect(lines.contains(#"ergon_instances{state="running"} 2.0"#))
        #expect(lines.contains(#"ergon_instances{state="provisioning"} 1.0"#))
        #expect(lines.contains(#"ergon_instances{state="lost"} 0.0"#))
        #expect(lines.contains("# TYPE ergon_tasks gauge"))

        // The next tick: the stopping task ended, the instances all exited.
        ErgonMetrics.tasks(byState: [.running: 2], factory: factory)
        ErgonMetrics.instances(byState: ["exited": 3], factory: factory)
        #expect(lines.contains(#"ergon_tasks{state="running"} 2.0"#))
        #expect(lines.contains(#"ergon_tasks{state="stopping"} 0.0"#))
        #expect(lines.contains(#"ergon_instances{state="running"} 0.0"#))
        #expect(lines.contains(#"ergon_instances{state="provisioning"} 0.0"#))
        #expect(lines.contains(#"ergon_instances{state="exited"} 3.0"#))
    }

    @Test("every instance status has a state label the gauge always writes")
    func instanceStates() {
        let statuses: [BackendInstance.Status] = [
            .provisioning, .running, .exited(code: 1), .ended(reason: "stopped"), .failedStart(message: "no"),
            .lost(reason: "offline"),
        ]
        #expect(Set(statuses.map(ErgonMetrics.instanceState)) == Set(ErgonMetrics.instanceStates))
    }

    @Test("Vast calls by endpoint, errors by endpoint and kind, log bytes, spend and the tick histogram")
    func countersAndHistogram() {
        ErgonMetrics.vastCall(endpoint: "search_offers", failure: nil, factory: factory)
        ErgonMetrics.vastCall(endpoint: "search_offers", failure: "rate_limited", factory: factory)
        ErgonMetrics.vastCall(endpoint: "create_instance", failure: nil, factory: factory)
        ErgonMetrics.logBytesShipped(1000, factory: factory)
        ErgonMetrics.logBytesShipped(24, factory: factory)
        ErgonMetrics.logBytesShipped(0, factory: factory)
        ErgonMetrics.spend(perHour: 1.25, total: 7.5, factory: factory)
        ErgonMetrics.tick(duration: .milliseconds(30), factory: factory)
        ErgonMetrics.tick(duration: .seconds(2), factory: factory)

        #expect(lines.contains(#"ergon_vast_api_calls_total{endpoint="search_offers"} 2"#))
        #expect(lines.contains(#"ergon_vast_api_calls_total{endpoint="create_instance"} 1"#))
        #expect(lines.contains(#"ergon_vast_api_errors_total{endpoint="search_offers",kind="rate_limited"} 1"#))
        #expect(!lines.contains { $0.hasPrefix(#"ergon_vast_api_errors_total{endpoint="create_instance""#) })
        #expect(lines.contains("# TYPE ergon_vast_api_calls_total counter"))
        #expect(lines.contains("ergon_log_bytes_shipped_total 1024"))
        #expect(lines.contains("ergon_spend_dollars_per_hour 1.25"))
        #expect(lines.contains("ergon_spend_dollars 7.5"))
        #expect(lines.contains("# TYPE ergon_scheduler_tick_seconds histogram"))
        #expect(lines.contains("ergon_scheduler_tick_seconds_count 2"))
        #expect(lines.contains(#"ergon_scheduler_tick_seconds_bucket{le="0.05"} 1"#))
        #expect(lines.contains(#"ergon_scheduler_tick_seconds_bucket{le="+Inf"} 2"#))
        #expect(lines.contains("ergon_scheduler_tick_seconds_sum 2.03"))
    }
}
