import Foundation
import Testing

@testable import ErgonCore

/// `notify` in the config, and the report a webhook receives.
@Suite("Notify config and report")
struct NotifyConfigTests {
    static func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> ErgonConfig {
        try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: environment, hostName: "box")
    }

    @Test func defaultsAndEveryKey() throws {
        #expect(try Self.parse("").notify == ErgonConfig.Notify())
        #expect(try Self.parse("notify:").notify.webhookURL == nil)
        let config = try Self.parse(
            """
            notify:
              webhook_url: https://hooks.example.org/ergon?team=gpu
              headers:
                Authorization: Bearer ${HOOK_TOKEN}
                X-Team: gpu
              secret: ${HOOK_SECRET}
            """, environment: ["HOOK_TOKEN": "t0ken", "HOOK_SECRET": "0123456789abcdef0123"])
        #expect(config.notify.webhookURL == URL(string: "https://hooks.example.org/ergon?team=gpu"))
        #expect(config.notify.headers.mapValues(\.value) == ["Authorization": "Bearer t0ken", "X-Team": "gpu"])
        #expect(config.notify.secret?.value == "0123456789abcdef0123")
        #expect(config.notify.host == "hooks.example.org")
        #expect("\(config.notify.headers["Authorization"]!)" == "(hidden)")
        #expect(try Self.parse("notify: {webhook_url: \"http://127.0.0.1:9000/hook\"}").notify.webhookURL?.port == 9000)
    }

    static let errors: [(String, String)] = [
        ("notify: {webhook_url: ftp://example.org/x}",
         "ergon.yaml: notify.webhook_url: invalid URL \"ftp://example.org/x\" (expected http:// or https:// with a host, e.g. https://hooks.example.org/ergon)"),
        ("notify: {webhook_url: \"https:///nohost\"}",
         "ergon.yaml: notify.webhook_url: invalid URL \"https:///nohost\" (expected http:// or https:// with a host, e.g. https://hooks.example.org/ergon)"),
        ("notify: {webhook_url: hooks.example.org}",
         "ergon.yaml: notify.webhook_url: invalid URL \"hooks.example.org\" (expected http:// or https:// with a host, e.g. https://hooks.example.org/ergon)"),
        ("notify: {webhook_url: \"\"}",
         "ergon.yaml: notify.webhook_url: is empty (expected an http(s) URL, e.g. https://hooks.example.org/ergon)"),
        ("notify: {webhook_ur: https://example.org}",
         "ergon.yaml: notify.webhook_ur: unknown key (did you mean \"webhook_url\"?)"),
        ("notify: {webhook_url: https://example.org, headers: [a]}",
         "ergon.yaml: notify.headers: expected a mapping of header names to values, got a list"),
        ("notify: {webhook_url: https://example.org, headers: {\"Bad Name\": x}}",
         "ergon.yaml: notify.headers.Bad Name: \"Bad Name\" is not a valid HTTP header name (letters, digits and -)"),
        ("notify: {webhook_url: https://example.org, headers: {Content-Type: text/plain}}",
         "ergon.yaml: notify.headers.Content-Type: Content-Type is set by the agent itself; leave it out"),
        ("notify: {webhook_url: https://example.org, headers: {X-A: {b: c}}}",
         "ergon.yaml: notify.headers.X-A: expected a header value, e.g. \"Bearer ${HOOK_TOKEN}\""),
        ("notify: {webhook_url: https://example.org, secret: short}",
         "ergon.yaml: notify.secret: the signing secret must be at least 16 characters (e.g. from `openssl rand -hex 32`, as ${ERGON_WEBHOOK_SECRET})"),
        ("notify: {secret: 0123456789abcdef0123}",
         "ergon.yaml: notify.secret: has no effect without notify.webhook_url"),
        ("notfy: {webhook_url: https://example.org}", "ergon.yaml: notfy: unknown key (did you mean \"notify\"?)"),
    ]

    @Test(arguments: errors)
    func errorsNameTheKey(text: String, message: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func secretValuesNeverShow() {
        do {
            _ = try Self.parse("notify: {webhook_url: https://example.org, headers: {X-A: \"line\\nbreak-s3cr3t\"}}")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("notify.headers.X-A: a header value cannot hold a line break"))
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test func reportOfAnEndedWorkflow() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let workflow = WorkflowRecord(id: UUID(), name: "htr", createdAt: t0)
        func task(_ slug: String, _ state: TaskState, exit: Int?, at: TimeInterval) -> TaskRecord {
            TaskRecord(
                id: UUID(), workflowID: workflow.id, seq: 1, spec: TaskSpec(slug: slug, image: "alpine:3", command: .shell("true")),
                parentIDs: [], state: state, attempt: 1, maxAttempts: 1, exitCode: exit, createdAt: t0,
                updatedAt: t0 + at)
        }
        let a = task("a", .completed, exit: 0, at: 100)
        let b = task("b", .failed, exit: 2, at: 400)
        let c = task("c", .cancelled, exit: nil, at: 400)
        let attempts = [
            AttemptRecord(taskID: a.id, number: 1, agentID: "x", claimedAt: t0 + 10, startedAt: t0 + 20, endedAt: t0 + 100, pricePerHour: 3.6),
            AttemptRecord(taskID: b.id, number: 1, agentID: "x", claimedAt: t0 + 100, endedAt: t0 + 400, pricePerHour: 1.2),
        ]
        let report = WorkflowEndReport(workflow: workflow, tasks: [a, b, c], attempts: attempts)
        #expect(report.state == .failed)
        #expect(report.counts["completed"] == 1 && report.counts["failed"] == 1 && report.counts["cancelled"] == 1)
        #expect(report.counts.count == TaskState.allCases.count && report.counts["running"] == 0)
        // a started running at t0+20; b never ran, its claim at t0+100 counts.
        #expect(report.startedAt == t0 + 20 && report.endedAt == t0 + 400 && report.submittedAt == t0)
        // a: 3.6 $/h × 90 s = 0.09; b: 1.2 $/h × 300 s = 0.1.
        #expect(abs((report.cost ?? 0) - 0.19) < 1e-9)
        #expect(report.tasks.map(\.slug) == ["a", "b", "c"] && report.tasks.map(\.exitCode) == [0, 2, nil])
        #expect(report.tasks.map(\.attempts) == [1, 1, 0])
        let json = String(decoding: try report.encoded(), as: UTF8.self)
        #expect(json.contains("\"workflow_id\":\"\(workflow.id.uuidString.lowercased())\""))
        #expect(json.contains("\"state\":\"failed\"") && json.contains("\"exit_code\":2") && json.contains("\"event\":\"workflow.ended\""))
        #expect(json.contains("\"ended_at\":\"2027-01-15T08:06:40Z\""))
        #expect(try WorkflowEndReport.decode(report.encoded()).tasks == report.tasks)
        let docker = WorkflowEndReport(workflow: workflow, tasks: [a], attempts: [])
        #expect(docker.cost == nil && docker.state == .completed && docker.startedAt == nil)
    }

    @Test func signatureIsHMACSHA256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let value = WebhookSignature.value(body: Array("what do ya want for nothing?".utf8), secret: "Jefe")
        #expect(value == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
