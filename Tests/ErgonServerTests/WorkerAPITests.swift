import ErgonCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ErgonServer

@Suite("worker API: schema, token scope, refusals")
struct WorkerAPITests {
    @Test("the OpenAPI document is readable without a token and names the worker operations")
    func schemaWithoutToken() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.withClient { client in
            for uri in ["/api/v1/openapi/", "/api/v1/openapi/?format=json", "/api/v1/openapi"] {
                let response = try await client.call(.get, uri)
                #expect(response.status == .ok, "\(uri)")
                #expect(response.headers[.contentType] == "application/json")
                let paths = response.object["paths"] as? [String: [String: Any]] ?? [:]
                let ids = paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } }
                for id in ["RetrieveTask", "ListArtifacts", "CreateArtifact", "DownloadArtifact", "SubmitWorkflow", "ListTasks"] {
                    #expect(ids.contains(id), "operation \(id) missing")
                }
                #expect(Set(ids).count == ids.count, "operation ids must be unique")
                let list = paths["/api/v1/task/{id}/artifacts/"]?["get"] as? [String: Any]
                #expect(list?["x-paginated"] as? Bool == false)
                #expect(paths["/api/v1/task/{id}/artifact/{path}"]?["get"] != nil)
            }
        }
    }

    @Test("a token reads its own task and artifacts")
    func ownTask() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.storeArtifact(fixture.a, "result.txt", "hello from a")
        let a = fixture.a
        let token = fixture.tokenA
        try await fixture.withClient { client in
            let task = try await client.call(.get, "/api/v1/task/\(a.id.uuidString.lowercased())/", ponos: token)
            #expect(task.status == .ok)
            #expect(task.object["id"] as? String == a.id.uuidString.lowercased())
            #expect(task.object["slug"] as? String == "a")
            #expect(task.object["state"] as? String == "running")
            #expect(task.object["parents"] as? [String] == [])
            #expect(task.object["attempt"] as? Int == 1)
            #expect(task.object["workflow_id"] as? String == a.workflowID.uuidString.lowercased())

            let list = try await client.call(.get, "/api/v1/task/\(a.id.uuidString.lowercased())/artifacts/", ponos: token)
            #expect(list.status == .ok)
            #expect(list.list.count == 1)
            let artifact = list.list.first ?? [:]
            #expect(artifact["path"] as? String == "result.txt")
            #expect(artifact["size"] as? Int == 12)
            #expect(artifact["content_type"] as? String == "text/plain")
            #expect(artifact.keys.contains("s3_put_url") && artifact["s3_put_url"] is NSNull)
            #expect(UUID(uuidString: artifact["id"] as? String ?? "") != nil)
            #expect((artifact["created"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil)

            // The id is stable across listings.
            let again = try await client.call(.get, "/api/v1/task/\(a.id.uuidString.lowercased())/artifacts/", ponos: token)
            #expect(again.list.first?["id"] as? String == artifact["id"] as? String)

            let download = try await client.call(.get, "/api/v1/task/\(a.id.uuidString.lowercased())/artifact/result.txt", ponos: token)
            #expect(download.status == .ok)
            #expect(download.text == "hello from a")
            #expect(download.headers[.contentType] == "text/plain")
            #expect(download.headers[.contentLength] == "12")

            let missing = try await client.call(.get, "/api/v1/task/\(a.id.uuidString.lowercased())/artifact/nope.txt", ponos: token)
            #expect(missing.status == .notFound)
            #expect(missing.detail.contains("nope.txt"))
        }
        // Downloads leave no staging copies behind.
        let staged = (try? FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/uploads")) ?? []
        #expect(staged.isEmpty)
    }

    @Test("a child reads its parent's artifacts but may not publish them; the parent may not read the child")
    func parentAndChild() async throws {
        var fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.storeArtifact(fixture.a, "model.bin", "weights")
        let tokenB = try await fixture.completeAAndClaimB()
        try await fixture.storeArtifact(fixture.b, "out.txt", "child output")
        let (a, b) = (fixture.a, fixture.b)
        let aID = a.id.uuidString.lowercased()
        let bID = b.id.uuidString.lowercased()
        try await fixture.withClient { client in
            let task = try await client.call(.get, "/api/v1/task/\(bID)/", ponos: tokenB)
            #expect(task.object["parents"] as? [String] == [aID])
            let parentTask = try await client.call(.get, "/api/v1/task/\(aID)/", ponos: tokenB)
            #expect(parentTask.status == .ok)
            let list = try await client.call(.get, "/api/v1/task/\(aID)/artifacts/", ponos: tokenB)
            #expect(list.status == .ok)
            #expect(list.list.map { $0["path"] as? String } == ["model.bin"])
            let download = try await client.call(.get, "/api/v1/task/\(aID)/artifact/model.bin", ponos: tokenB)
            #expect(download.text == "weights")

            let write = try await client.call(
                .post, "/api/v1/task/\(aID)/artifacts/", ponos: tokenB,
                headers: [.contentType: "application/json"], body: #"{"path":"x.txt","content_type":"text/plain","size":1}"#)
            #expect(write.status == .forbidden)
            #expect(write.detail.contains("publish"))
        }
        // The parent's own attempt ended, so its token no longer works at all; a parent whose
        // attempt still runs may not read its child either (a second workflow shows it).
        let tokenA = fixture.tokenA
        try await fixture.withClient { client in
            let ended = try await client.call(.get, "/api/v1/task/\(aID)/artifacts/", ponos: tokenA)
            #expect(ended.status == .unauthorized)
            #expect(ended.detail.contains("attempt has ended"))
        }
    }

    @Test("a running parent may not read its child's artifacts")
    func parentReadsChild() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (bID, token) = (fixture.b.id.uuidString.lowercased(), fixture.tokenA)
        try await fixture.withClient { client in
            let list = try await client.call(.get, "/api/v1/task/\(bID)/artifacts/", ponos: token)
            #expect(list.status == .forbidden)
            let task = try await client.call(.get, "/api/v1/task/\(bID)/", ponos: token)
            #expect(task.status == .forbidden)
        }
    }

    @Test("another task's token is refused with 403, an unknown task with 404")
    func otherTask() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.storeArtifact(fixture.a, "secret.txt", "a's data")
        let (aID, tokenC) = (fixture.a.id.uuidString.lowercased(), fixture.tokenC)
        try await fixture.withClient { client in
            for uri in ["/api/v1/task/\(aID)/", "/api/v1/task/\(aID)/artifacts/", "/api/v1/task/\(aID)/artifact/secret.txt"] {
                let response = try await client.call(.get, uri, ponos: tokenC)
                #expect(response.status == .forbidden, "\(uri)")
                #expect(!response.text.contains("a's data"))
            }
            let unknown = try await client.call(.get, "/api/v1/task/\(UUID().uuidString.lowercased())/", ponos: tokenC)
            #expect(unknown.status == .notFound)
        }
    }

    @Test("missing, malformed, unknown, expired and ended tokens get 401 with WWW-Authenticate: Ponos")
    func refusedTokens() async throws {
        var fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let expired = WorkerToken.generate()
        try await fixture.queue.recordToken(TokenGrant(
            hash: expired.hash, taskID: fixture.c.id, attempt: fixture.c.attempt, expiresAt: Date().addingTimeInterval(-60)))
        let tokenA = fixture.tokenA
        _ = try await fixture.completeAAndClaimB()
        let cID = fixture.c.id.uuidString.lowercased()
        let aID = fixture.a.id.uuidString.lowercased()
        let cases: [(String, HTTPFields, String)] = [
            ("missing", [:], "no `Authorization: Ponos"),
            ("malformed", [.authorization: "Token abc"], "not `Ponos <token>`"),
            ("empty", [.authorization: "Ponos "], "not `Ponos <token>`"),
            ("unknown", [.authorization: "Ponos \(WorkerToken.generate().value)"], "no such token"),
            ("expired", [.authorization: "Ponos \(expired.value)"], "expired"),
        ]
        try await fixture.withClient { client in
            for (label, headers, reason) in cases {
                let response = try await client.call(.get, "/api/v1/task/\(cID)/", headers: headers)
                #expect(response.status == .unauthorized, "\(label)")
                #expect(response.headers[.wwwAuthenticate] == "Ponos", "\(label)")
                #expect(response.detail.contains(reason), "\(label): \(response.detail)")
            }
            let ended = try await client.call(.get, "/api/v1/task/\(aID)/", ponos: tokenA)
            #expect(ended.status == .unauthorized)
            #expect(ended.headers[.wwwAuthenticate] == "Ponos")
        }
        // Every refusal was logged with its reason, and no token ever reached the log.
        let log = fixture.logs.text
        #expect(log.contains("no such token"))
        #expect(log.contains("the token expired"))
        #expect(log.contains("path=/api/v1/task/\(cID)/"))
        for token in [tokenA.value, expired.value, fixture.tokenC.value] {
            #expect(!log.contains(token), "a token reached the log")
        }
    }

    @Test("no route, however it is called, logs a token")
    func tokensNeverLogged() async throws {
        var fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        try await fixture.storeArtifact(fixture.a, "r.txt", "r")
        let tokenA = fixture.tokenA
        let tokenC = fixture.tokenC
        let (aID, bID, cID) = (fixture.a.id.uuidString.lowercased(), fixture.b.id.uuidString.lowercased(), fixture.c.id.uuidString.lowercased())
        try await fixture.withClient { client in
            for token in [tokenA, tokenC] {
                for uri in ["/api/v1/task/\(aID)/", "/api/v1/task/\(bID)/artifacts/", "/api/v1/task/\(cID)/artifact/r.txt",
                            "/api/v1/task/\(aID)/artifact/..", "/api/v1/tasks", "/api/v1/nope"] {
                    _ = try await client.call(.get, uri, ponos: token)
                }
                _ = try await client.call(.post, "/api/v1/task/\(aID)/artifacts/", ponos: token, body: "{not json")
                _ = try await client.call(.post, "/api/v1/task/\(aID)/artifacts/", ponos: token, body: #"{"path":"../x","size":1}"#)
            }
        }
        let tokenB = try await fixture.completeAAndClaimB()
        try await fixture.withClient { client in
            _ = try await client.call(.get, "/api/v1/task/\(aID)/", ponos: tokenA)
            _ = try await client.call(.post, "/api/v1/task/\(aID)/artifacts/", ponos: tokenB, body: #"{"path":"x","size":1}"#)
            _ = try await client.call(.get, "/api/v1/tasks", bearer: tokenB.value)
        }
        let log = fixture.logs.text
        #expect(!log.isEmpty)
        for token in [tokenA.value, tokenB.value, tokenC.value, ServerFixture.operatorToken] {
            #expect(!log.contains(token), "a token reached the log")
        }
    }
}
