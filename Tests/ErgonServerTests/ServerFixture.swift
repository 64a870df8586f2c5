import Crypto
import ErgonCore
import ErgonTestSupport
@testable import ErgonServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging

/// A server over a memory queue and a file store in a temporary directory, with the workflow
/// `a → b` plus an unrelated task `c`. `a` and `c` are claimed and hold tokens; `b` waits for `a`.
struct ServerFixture: Sendable {
    let directory: String
    let queue: MemoryTaskQueue
    let store: FileArtifactStore
    let logs: LogCapture
    let server: ErgonServer
    let workflowID: UUID
    var a: TaskRecord
    var b: TaskRecord
    var c: TaskRecord
    let tokenA: WorkerToken
    let tokenC: WorkerToken
    let uploadKey: SymmetricKey
    static let operatorToken = "operator-secret-3f9a"
    static let publicURL = "http://agent.test:8321"

    static func make(
        operatorToken: String? = Self.operatorToken, publicURL: String? = Self.publicURL,
        reviewSubmission: @escaping @Sendable (WorkflowSpec) async -> SubmissionReview = { _ in SubmissionReview() }
    ) async throws -> ServerFixture {
        let directory = FileManager.default.temporaryDirectory.path + "/ergon-server-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let queue = MemoryTaskQueue()
        let store = FileArtifactStore(root: directory + "/artifacts")
        let logs = LogCapture()
        let now = Date()
        let spec = WorkflowSpec(name: "w", tasks: [
            TaskSpec(slug: "a", image: "alpine", command: .shell("true")),
            TaskSpec(slug: "b", image: "alpine", command: .shell("true"), parents: ["a"]),
            TaskSpec(slug: "c", image: "alpine", command: .shell("true")),
        ])
        let (workflow, tasks) = try await queue.submit(spec, defaultMaxAttempts: 3, at: now)
        func slug(_ s: String) -> TaskRecord { tasks.first { $0.spec.slug == s }! }
        let tokenA = try await claimWithToken(queue, slug("a"), now: now)
        let tokenC = try await claimWithToken(queue, slug("c"), now: now)
        var config = ErgonConfig.Server()
        config.listen = .init(host: "127.0.0.1", port: 0)
        config.publicURL = publicURL
        config.operatorToken = operatorToken.map(ErgonConfig.Secret.init)
        let key = SymmetricKey(size: .bits256)
        let logDirectory = directory + "/logs"
        let dependencies = ServerDependencies(
            queue: queue, artifacts: store,
            readLog: { key, offset in
                guard let data = FileManager.default.contents(atPath: logDirectory + "/" + key.taskPath) else { return nil }
                return Array(data.dropFirst(Int(min(offset, Int64(data.count)))))
            },
            defaultMaxAttempts: 3, uploadDirectory: directory + "/uploads", uploadKey: key, logger: logs.logger(),
            reviewSubmission: reviewSubmission)
        let server = ErgonServer(config: config, dependencies: dependencies)
        return ServerFixture(
            directory: directory, queue: queue, store: store, logs: logs, server: server, workflowID: workflow.id,
            a: try await queue.task(slug("a").id)!, b: slug("b"), c: try await queue.task(slug("c").id)!,
            tokenA: tokenA, tokenC: tokenC, uploadKey: key)
    }

    /// Claims a pending task and records a fresh token for its attempt, valid for an hour.
    static func claimWithToken(_ queue: MemoryTaskQueue, _ task: TaskRecord, now: Date) async throws -> WorkerToken {
        guard let held = try await queue.claim(taskID: task.id, agentID: "agent", gpu: nil, at: now) else {
            throw FixtureError("task \(task.spec.slug) could not be claimed")
        }
        let token = WorkerToken.generate()
        try await queue.recordToken(TokenGrant(
            hash: token.hash, taskID: task.id, attempt: held.attempt.number, expiresAt: now.addingTimeInterval(3600)))
        return token
    }

    /// Completes `a` (so its token's attempt ends), then claims `b` and returns `b`'s token.
    mutating func completeAAndClaimB() async throws -> WorkerToken {
        _ = try await queue.finishAttempt(taskID: a.id, attempt: a.attempt, outcome: .exited(code: 0), at: Date())
        let token = try await Self.claimWithToken(queue, try await queue.task(b.id)!, now: Date())
        a = try await queue.task(a.id)!
        b = try await queue.task(b.id)!
        return token
    }

    /// Stores `text` as artifact `name` of `task`, as the agent does after a task ends.
    func storeArtifact(_ task: TaskRecord, _ name: String, _ text: String) async throws {
        let file = directory + "/seed-" + UUID().uuidString
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        try await store.store(ArtifactOwner(task), name: try ArtifactName(name), file: file, contentType: "text/plain")
    }

    /// Writes an attempt's log where the fixture's `readLog` finds it.
    func writeLog(_ task: TaskRecord, attempt: Int, _ text: String) throws {
        let path = directory + "/logs/" + LogKey(workflowID: task.workflowID, taskID: task.id, attempt: attempt).taskPath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `body` against the router (no socket).
    func withClient<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await server.makeApplication().test(.router, body)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Request helpers.
extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ uri: String, ponos token: WorkerToken? = nil, bearer: String? = nil,
        headers: HTTPFields = [:], body: String? = nil
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Ponos \(token.value)" }
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var list: [[String: Any]] { json as? [[String: Any]] ?? [] }
    var detail: String { object["detail"] as? String ?? "" }
}
