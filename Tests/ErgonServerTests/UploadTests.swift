import Crypto
import ErgonCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ErgonServer

@Suite("worker API: CreateArtifact and the agent's upload URLs")
struct UploadTests {
    /// The path and query of a URL the server handed out (the test client takes no origin).
    static func pathAndQuery(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return url }
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    func create(
        _ client: any TestClientProtocol, _ task: TaskRecord, _ token: WorkerToken, name: String, size: Int,
        contentType: String = "text/plain"
    ) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["path": name, "content_type": contentType, "size": size])
        return try await client.call(
            .post, "/api/v1/task/\(task.id.uuidString.lowercased())/artifacts/", ponos: token,
            headers: [.contentType: "application/json"], body: String(decoding: body, as: UTF8.self))
    }

    @Test("create then PUT stores the exact bytes; repeating the create is fine")
    func roundTrip() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        let payload = String(repeating: "line of output ✓\n", count: 5000)
        let size = payload.utf8.count
        try await fixture.withClient { client in
            let first = try await create(client, a, token, name: "out put.txt", size: size)
            #expect(first.status == .created)
            let url = first.object["s3_put_url"] as? String ?? ""
            #expect(url.hasPrefix(ServerFixture.publicURL + "/api/v1/upload/\(a.id.uuidString.lowercased())/out%20put.txt?attempt=1&size=\(size)&expires="))
            #expect(first.object["path"] as? String == "out put.txt")
            #expect(first.object["size"] as? Int == size)

            let second = try await create(client, a, token, name: "out put.txt", size: size)
            #expect(second.status == .created)
            #expect(second.object["id"] as? String == first.object["id"] as? String)

            // No Ponos header: the signature is the credential.
            let put = try await client.call(
                .put, Self.pathAndQuery(second.object["s3_put_url"] as? String ?? ""),
                headers: [.contentType: "text/x-log"], body: payload)
            #expect(put.status == .created, "\(put.text)")
            #expect(put.object["path"] as? String == "out put.txt")
        }
        let name = try ArtifactName("out put.txt")
        let stored = try await fixture.store.artifact(ArtifactOwner(a), name: name)
        #expect(stored?.size == Int64(size))
        #expect(stored?.contentType == "text/x-log")
        let copy = fixture.directory + "/copy"
        try await fixture.store.fetch(ArtifactOwner(a), name: name, to: copy)
        #expect(FileManager.default.contents(atPath: copy) == Data(payload.utf8))
        let staged = (try? FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/uploads")) ?? []
        #expect(staged.isEmpty, "staging files left: \(staged)")
    }

    @Test("an upload URL dies with the attempt it was made for")
    func uploadURLEndsWithItsAttempt() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        try await fixture.withClient { client in
            let created = try await create(client, a, token, name: "late.txt", size: 4)
            _ = try await fixture.queue.finishAttempt(taskID: a.id, attempt: 1, outcome: .exited(code: 0), at: Date())
            let late = try await client.call(.put, Self.pathAndQuery(created.object["s3_put_url"] as? String ?? ""), body: "late")
            #expect(late.status == .forbidden)
            #expect(late.detail.contains("has ended"))
        }
        #expect(try await fixture.store.list(ArtifactOwner(a)).isEmpty)
    }

    @Test("UploadArtifact: one PUT with the token stores the body; only the token's own task")
    func putWithToken() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, b, c, tokenA, tokenC) = (fixture.a, fixture.b, fixture.c, fixture.tokenA, fixture.tokenC)
        let payload = String(repeating: "wrapper bytes\n", count: 10_000)
        try await fixture.withClient { client in
            let path = "/api/v1/task/\(a.id.uuidString.lowercased())/artifact/wrapped.txt"
            let put = try await client.call(.put, path, ponos: tokenA, body: payload)
            #expect(put.status == .created, "\(put.text)")
            #expect(put.object["size"] as? Int == payload.utf8.count)
            #expect(try await client.call(.get, path, ponos: tokenA).status == .ok)
            #expect(try await client.call(.put, path, body: payload).status == .unauthorized)
            #expect(try await client.call(.put, path, ponos: tokenC, body: payload).status == .forbidden)
            let child = "/api/v1/task/\(b.id.uuidString.lowercased())/artifact/x.txt"
            #expect(try await client.call(.put, child, ponos: tokenA, body: "x").status == .forbidden)
            let bad = "/api/v1/task/\(c.id.uuidString.lowercased())/artifact/..%2Fx"
            #expect(try await client.call(.put, bad, ponos: tokenC, body: "x").status == .badRequest)
        }
        let copy = fixture.directory + "/wrapped"
        try await fixture.store.fetch(ArtifactOwner(a), name: try ArtifactName("wrapped.txt"), to: copy)
        #expect(FileManager.default.contents(atPath: copy) == Data(payload.utf8))
    }

    @Test("an empty artifact can be uploaded, with its type guessed from the name")
    func emptyUpload() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        try await fixture.withClient { client in
            let created = try await client.call(
                .post, "/api/v1/task/\(a.id.uuidString.lowercased())/artifacts/", ponos: token,
                body: #"{"path":"empty.json","size":0}"#)
            #expect(created.status == .created)
            #expect(created.object["content_type"] as? String == "application/json")
            let put = try await client.call(.put, Self.pathAndQuery(created.object["s3_put_url"] as? String ?? ""))
            #expect(put.status == .created, "\(put.text)")
        }
        let stored = try await fixture.store.artifact(ArtifactOwner(a), name: try ArtifactName("empty.json"))
        #expect(stored?.size == 0)
        #expect(stored?.contentType == "application/json")
    }

    @Test("a bad signature, an expired URL and a body of the wrong size are refused")
    func refusedUploads() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token, key) = (fixture.a, fixture.tokenA, fixture.uploadKey)
        try await fixture.withClient { client in
            let created = try await create(client, a, token, name: "r.txt", size: 5)
            let good = Self.pathAndQuery(created.object["s3_put_url"] as? String ?? "")

            let tampered = good.replacingOccurrences(of: "size=5", with: "size=6")
            let bad = try await client.call(.put, tampered, body: "abcdef")
            #expect(bad.status == .forbidden)
            #expect(bad.detail.contains("signature"))

            let otherName = good.replacingOccurrences(of: "/r.txt?", with: "/s.txt?")
            #expect(try await client.call(.put, otherName, body: "abcde").status == .forbidden)

            let unsigned = try await client.call(.put, "/api/v1/upload/\(a.id.uuidString.lowercased())/r.txt?size=5", body: "abcde")
            #expect(unsigned.status == .forbidden)

            let past = UploadSignature(
                taskID: a.id, attempt: 1, name: try ArtifactName("r.txt"), size: 5, expires: Int64(Date().timeIntervalSince1970) - 10)
            let expired = try await client.call(.put, past.path(key: key), body: "abcde")
            #expect(expired.status == .forbidden)
            #expect(expired.detail.contains("expired"))

            let long = try await client.call(.put, good, body: "abcdefgh")
            #expect(long.status == .badRequest)
            #expect(long.detail.contains("signed for 5"))
            let short = try await client.call(.put, good, body: "abc")
            #expect(short.status == .badRequest)

            let unknownTask = UploadSignature(
                taskID: UUID(), attempt: 1, name: try ArtifactName("r.txt"), size: 5, expires: Int64(Date().timeIntervalSince1970) + 600)
            #expect(try await client.call(.put, unknownTask.path(key: key), body: "abcde").status == .notFound)
        }
        #expect(try await fixture.store.list(ArtifactOwner(a)).isEmpty)
        let staged = (try? FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/uploads")) ?? []
        #expect(staged.isEmpty, "staging files left: \(staged)")
    }

    @Test("artifact names that could leave the task's folder are refused with 400", arguments: [
        "../x", "a/b", "/etc/passwd", "..", "", "a\\b",
    ])
    func badNames(name: String) async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        try await fixture.withClient { client in
            let response = try await create(client, a, token, name: name, size: 1)
            #expect(response.status == .badRequest)
            #expect(response.detail.hasPrefix("path: artifact name"), "\(response.detail)")
        }
    }

    @Test("bodies that are not an artifact declaration get 400 naming the field")
    func badBodies() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        let cases: [(String, String)] = [
            ("not json", "JSON object"),
            (#"{"size": 1}"#, "path: required"),
            (#"{"path": "x"}"#, "size: required"),
            (#"{"path": "x", "size": -1}"#, "size: -1 is negative"),
            (#"{"path": "x", "size": "big"}"#, "size: expected"),
            (#"{"path": 3, "size": 1}"#, "path: expected"),
        ]
        try await fixture.withClient { client in
            for (body, detail) in cases {
                let response = try await client.call(
                    .post, "/api/v1/task/\(a.id.uuidString.lowercased())/artifacts/", ponos: token, body: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.detail.contains(detail), "\(body): \(response.detail)")
            }
        }
    }

    @Test("a download path that is not an artifact name is refused with 400")
    func badDownloadName() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        let (a, token) = (fixture.a, fixture.tokenA)
        try await fixture.withClient { client in
            let response = try await client.call(
                .get, "/api/v1/task/\(a.id.uuidString.lowercased())/artifact/..%2Fetc%2Fpasswd", ponos: token)
            #expect(response.status == .badRequest)
        }
    }

    @Test("upload signatures cover task, name, size and expiry")
    func signatureFields() throws {
        let key = SymmetricKey(size: .bits256)
        let grant = UploadSignature(taskID: UUID(), attempt: 1, name: try ArtifactName("a.txt"), size: 3, expires: 100)
        let signature = grant.signature(key: key)
        #expect(grant.isSigned(by: signature, key: key))
        #expect(!grant.isSigned(by: signature, key: SymmetricKey(size: .bits256)))
        var changed = grant
        changed.size = 4
        #expect(!changed.isSigned(by: signature, key: key))
        changed = grant
        changed.attempt = 2
        #expect(!changed.isSigned(by: signature, key: key))
        changed = grant
        changed.expires = 101
        #expect(!changed.isSigned(by: signature, key: key))
        changed = grant
        changed.name = try ArtifactName("b.txt")
        #expect(!changed.isSigned(by: signature, key: key))
        #expect(!grant.isSigned(by: "zz", key: key))
        #expect(!grant.isSigned(by: "", key: key))
    }
}
