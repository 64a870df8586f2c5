import ErgonCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import ErgonServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("GET /metrics")
struct MetricsRouteTests {
    /// A registry with a few of the agent's metrics in it, as a tick would leave them.
    static func registry() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        ErgonMetrics.tasks(byState: [.running: 2], factory: factory)
        ErgonMetrics.vastCall(endpoint: "list_instances", failure: "timeout", factory: factory)
        return registry
    }

    @Test("on a live port it answers the text format to the operator token, and refuses without it")
    func live() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let registry = Self.registry()
        let server = ErgonServer(
            config: fixture.server.config, dependencies: fixture.server.dependencies, metrics: { registry.emitToString() })
        try await withRunningServer(server, logger: fixture.logs.logger()) { port in
            let url = URL(string: "http://127.0.0.1:\(port)/metrics")!
            var request = URLRequest(url: url)
            request.setValue("Bearer \(ServerFixture.operatorToken)", forHTTPHeaderField: "Authorization")
            let (body, answer) = try await URLSession.shared.data(for: request)
            let response = try #require(answer as? HTTPURLResponse)
            #expect(response.statusCode == 200)
            #expect(response.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let lines = String(decoding: body, as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(lines.contains(#"ergon_tasks{state="running"} 2.0"#), "\(lines)")
            #expect(lines.contains(#"ergon_tasks{state="stopping"} 0.0"#))
            #expect(lines.contains(#"ergon_vast_api_errors_total{endpoint="list_instances",kind="timeout"} 1"#))

            let (_, refused) = try await URLSession.shared.data(from: url)
            #expect((refused as? HTTPURLResponse)?.statusCode == 401)
        }
        #expect(!fixture.logs.text.contains(ServerFixture.operatorToken))
    }

    @Test("without server.operator_token it is off like the task API; without a renderer there is no route")
    func offAndAbsent() async throws {
        let fixture = try await ServerFixture.make(operatorToken: nil)
        defer { fixture.remove() }
        let registry = Self.registry()
        let off = ErgonServer(
            config: fixture.server.config, dependencies: fixture.server.dependencies, metrics: { registry.emitToString() })
        try await off.makeApplication().test(.router) { client in
            let response = try await client.call(.get, "/metrics", bearer: "anything")
            #expect(response.status == .forbidden)
            #expect(!response.text.contains("ergon_tasks"))
        }
        let status = try await fixture.withClient { client in try await client.call(.get, "/metrics").status }
        #expect(status == .notFound)
    }
}
