import ErgonCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ErgonServer

@Suite("operator task API")
struct OperatorAPITests {
    static let bearer = ServerFixture.operatorToken

    @Test("a missing or wrong bearer token is refused; without a configured token the API is off")
    func refusals() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let tokenA = fixture.tokenA
        try await fixture.withClient { client in
            for uri in ["/api/v1/tasks", "/api/v1/workflows", "/api/v1/tasks/\(UUID().uuidString)/logs"] {
                let missing = try await client.call(.get, uri)
                #expect(missing.status == .unauthorized, "\(uri)")
                #expect(missing.headers[.wwwAuthenticate] == "Bearer")
                let wrong = try await client.call(.get, uri, bearer: "not-the-token")
                #expect(wrong.status == .unauthorized)
                #expect(wrong.detail.contains("server.operator_token"))
                // A worker token is no operator credential.
                #expect(try await client.call(.get, uri, ponos: tokenA).status == .unauthorized)
            }
            #expect(try await client.call(.post, "/api/v1/workflows", bearer: "x", body: "name: w").status == .unauthorized)
        }
        let off = try await ServerFixture.make(operatorToken: nil)
        defer { off.remove() }
        try await off.withClient { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/tasks"), (.post, "/api/v1/workflows"), (.get, "/api/v1/workflows")] {
                let response = try await client.call(method, uri, bearer: "anything")
                #expect(response.status == .forbidden)
                #expect(response.detail == "the task API is off: set server.operator_token")
            }
        }
        #expect(!fixture.logs.text.contains(Self.bearer))
    }

    @Test("a workflow the agent's review refuses is answered 400 with every problem and queues nothing; warnings are logged")
    func submitReview() async throws {
        let fixture = try await ServerFixture.make { spec in
            let bare = spec.tasks.enumerated().filter { $0.element.image == "scratch-tool:1" }
            return SubmissionReview(
                problems: bare.map { "tasks[\($0.offset)] (\($0.element.slug)): image scratch-tool:1 has no usable shell" },
                warnings: spec.tasks.contains { $0.image == "private:1" } ? ["cannot tell whether image private:1 has /bin/sh"] : [])
        }
        defer { fixture.remove() }
        try await fixture.withClient { client in
            let before = try await client.call(.get, "/api/v1/tasks", bearer: Self.bearer).list.count
            let yaml = "name: r\ntasks:\n  - {slug: a, image: alpine}\n  - {slug: b, image: \"scratch-tool:1\"}\n"
            let refused = try await client.call(.post, "/api/v1/workflows?file=r.yaml", bearer: Self.bearer, body: yaml)
            #expect(refused.status == .badRequest, "\(refused.text)")
            #expect(refused.text.contains("r.yaml: tasks[1] (b): image scratch-tool:1 has no usable shell"), "\(refused.text)")
            #expect(try await client.call(.get, "/api/v1/tasks", bearer: Self.bearer).list.count == before)
            let warned = try await client.call(
                .post, "/api/v1/workflows?file=p.yaml", bearer: Self.bearer, body: "name: p\ntasks:\n  - {slug: a, image: \"private:1\"}\n")
            #expect(warned.status == .created, "\(warned.text)")
        }
        #expect(fixture.logs.text.contains("p.yaml: cannot tell whether image private:1 has /bin/sh"))
    }

    @Test("submit, list, show, cancel and retry a workflow")
    func workflowFlow() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let yaml = """
            name: nightly
            tasks:
              - slug: prepare
                image: alpine
                command: echo prepare
              - slug: train
                image: alpine
                command: echo train
                parents: [prepare]
            """
        try await fixture.withClient { client in
            let submitted = try await client.call(.post, "/api/v1/workflows", bearer: Self.bearer, body: yaml)
            #expect(submitted.status == .created, "\(submitted.text)")
            let workflow = submitted.object["workflow"] as? [String: Any] ?? [:]
            let tasks = submitted.object["tasks"] as? [[String: Any]] ?? []
            #expect(workflow["name"] as? String == "nightly")
            #expect(tasks.map { $0["slug"] as? String } == ["prepare", "train"])
            #expect(tasks.map { $0["state"] as? String } == ["pending", "unscheduled"])
            #expect(tasks.first?.keys.contains("exit_code") == true)
            #expect(tasks.first?["max_attempts"] as? Int == 3)
            let workflowID = workflow["id"] as? String ?? ""
            let prepareID = tasks.first?["id"] as? String ?? ""

            let json = #"{"name": "json-one", "tasks": [{"slug": "only", "image": "alpine"}]}"#
            #expect(try await client.call(.post, "/api/v1/workflows", bearer: Self.bearer, body: json).status == .created)

            let list = try await client.call(.get, "/api/v1/workflows", bearer: Self.bearer)
            #expect(list.list.map { $0["name"] as? String } == ["w", "nightly", "json-one"])
            #expect(list.list[1]["state"] as? String == "running")

            let show = try await client.call(.get, "/api/v1/workflows/\(workflowID)", bearer: Self.bearer)
            #expect(show.status == .ok)
            #expect((show.object["tasks"] as? [Any])?.count == 2)

            let filtered = try await client.call(.get, "/api/v1/tasks?workflow=\(workflowID)&state=pending", bearer: Self.bearer)
            #expect(filtered.list.map { $0["slug"] as? String } == ["prepare"])
            let badState = try await client.call(.get, "/api/v1/tasks?state=sleeping", bearer: Self.bearer)
            #expect(badState.status == .badRequest)
            #expect(badState.detail.contains("sleeping"))

            let byPrefix = try await client.call(.get, "/api/v1/tasks/\(prepareID.prefix(8))", bearer: Self.bearer)
            #expect(byPrefix.status == .ok)
            #expect((byPrefix.object["task"] as? [String: Any])?["id"] as? String == prepareID)
            #expect(byPrefix.object["attempts"] as? [Any] != nil)
            #expect(byPrefix.object["workflow_name"] as? String == "nightly")

            let cancelled = try await client.call(.post, "/api/v1/workflows/\(workflowID)/cancel", bearer: Self.bearer)
            #expect(cancelled.status == .ok)
            let states = (cancelled.object["tasks"] as? [[String: Any]] ?? []).map { $0["state"] as? String }
            #expect(states == ["stopped", "cancelled"])
            #expect((cancelled.object["workflow"] as? [String: Any])?["state"] as? String == "stopped")
            let cancelledAgain = try await client.call(.post, "/api/v1/workflows/\(workflowID)/cancel", bearer: Self.bearer)
            #expect(cancelledAgain.status == .conflict, "an ended workflow cannot be cancelled, as in the CLI")

            let retried = try await client.call(.post, "/api/v1/workflows/\(workflowID)/retry", bearer: Self.bearer)
            #expect(retried.status == .ok, "\(retried.text)")
            let after = (retried.object["tasks"] as? [[String: Any]] ?? []).map { $0["state"] as? String }
            #expect(after == ["pending", "unscheduled"])

            // Nothing failed any more: a second retry is a conflict.
            let again = try await client.call(.post, "/api/v1/workflows/\(workflowID)/retry", bearer: Self.bearer)
            #expect(again.status == .conflict)

            let taskCancel = try await client.call(.post, "/api/v1/tasks/\(prepareID)/cancel", bearer: Self.bearer)
            #expect(taskCancel.object["state"] as? String == "stopped")
            let taskRetry = try await client.call(.post, "/api/v1/tasks/\(prepareID)/retry", bearer: Self.bearer)
            #expect(taskRetry.object["state"] as? String == "pending")
            let completedRetry = try await client.call(.post, "/api/v1/tasks/\(prepareID)/retry", bearer: Self.bearer)
            #expect(completedRetry.status == .conflict)

            #expect(try await client.call(.get, "/api/v1/workflows/\(UUID().uuidString)", bearer: Self.bearer).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/workflows/nope", bearer: Self.bearer).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/tasks/\(UUID().uuidString)", bearer: Self.bearer).status == .notFound)
        }
    }

    @Test("a bad workflow document is refused with the loader's message")
    func badDocument() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.withClient { client in
            let unknownParent = """
                name: w
                tasks:
                  - slug: a
                    image: alpine
                    parents: [ghost]
                """
            let response = try await client.call(.post, "/api/v1/workflows?file=job.yaml", bearer: Self.bearer, body: unknownParent)
            #expect(response.status == .badRequest)
            #expect(response.detail.hasPrefix("job.yaml: "), "\(response.detail)")
            #expect(response.detail.contains("ghost"))

            let syntax = try await client.call(.post, "/api/v1/workflows", bearer: Self.bearer, body: "name: [unclosed")
            #expect(syntax.status == .badRequest)
            let empty = try await client.call(.post, "/api/v1/workflows", bearer: Self.bearer, body: "")
            #expect(empty.status == .badRequest)
        }
    }

    @Test("an ambiguous task prefix is a 400 naming the candidates")
    func ambiguousPrefix() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.withClient { client in
            // Submit until two task ids share their first 4 hex digits (a few hundred tasks at most).
            var seen: [String: String] = [:]
            var prefix: String?
            for round in 0..<40 where prefix == nil {
                let tasks = (0..<25).map { #"{"slug": "t\#($0)", "image": "alpine"}"# }.joined(separator: ",")
                let response = try await client.call(
                    .post, "/api/v1/workflows", bearer: Self.bearer, body: #"{"name": "r\#(round)", "tasks": [\#(tasks)]}"#)
                for task in response.object["tasks"] as? [[String: Any]] ?? [] {
                    let id = task["id"] as? String ?? ""
                    let start = String(id.prefix(4))
                    if seen[start] != nil { prefix = start }
                    seen[start] = id
                }
            }
            // Ids are random: after ~1000 tasks a shared 4-digit prefix is all but certain
            // (p ≈ 0.9995); in the rare run without one there is nothing ambiguous to ask for.
            guard let prefix else { return }
            let response = try await client.call(.get, "/api/v1/tasks/\(prefix)", bearer: Self.bearer)
            #expect(response.status == .badRequest)
            #expect(response.detail.contains("matches several tasks"))
        }
    }

    @Test("logs are served from an offset, 404 when there are none")
    func logs() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try fixture.writeLog(fixture.a, attempt: 1, "line one\nline two\n")
        let aID = fixture.a.id.uuidString.lowercased()
        let cID = fixture.c.id.uuidString.lowercased()
        try await fixture.withClient { client in
            let all = try await client.call(.get, "/api/v1/tasks/\(aID)/logs?attempt=1", bearer: Self.bearer)
            #expect(all.status == .ok)
            #expect(all.text == "line one\nline two\n")
            #expect(all.headers[.contentType]?.hasPrefix("text/plain") == true)
            let tail = try await client.call(.get, "/api/v1/tasks/\(aID)/logs?attempt=1&from=9", bearer: Self.bearer)
            #expect(tail.text == "line two\n")
            let latest = try await client.call(.get, "/api/v1/tasks/\(aID)/logs", bearer: Self.bearer)
            #expect(latest.text == "line one\nline two\n")
            let none = try await client.call(.get, "/api/v1/tasks/\(cID)/logs?attempt=1", bearer: Self.bearer)
            #expect(none.status == .notFound)
            let noAttempt = try await client.call(.get, "/api/v1/tasks/\(aID)/logs?attempt=7", bearer: Self.bearer)
            #expect(noAttempt.status == .notFound)
            let bad = try await client.call(.get, "/api/v1/tasks/\(aID)/logs?from=-1", bearer: Self.bearer)
            #expect(bad.status == .badRequest)
        }
    }
}
