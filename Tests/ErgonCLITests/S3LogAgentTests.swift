import AsyncHTTPClient
import ErgonCore
import ErgonS3
import ErgonSQLite
import ErgonTestSupport
import Foundation
import Logging
import Testing

/// A docker-mode agent shipping logs to a signature-checking S3 (moto), through a proxy the
/// tests can cut to play an outage.
@Suite("S3 log store with a running agent", .dockerEngine, .serialized)
struct S3LogAgentTests {
    /// A task printing `chunks × lines` lines of about 1 KB, `pause` seconds apart, and the
    /// exact bytes it writes.
    struct Writer {
        var chunks: Int
        var lines: Int
        var pause: String = "0.2"
        static let filler = String(repeating: "0", count: 999)

        var command: TaskCommand {
            let script = """
                P=$(printf '%0999d' 0); i=0
                while [ $i -lt \(chunks) ]; do seq $((i*\(lines)+1)) $(((i+1)*\(lines))) | sed "s/$/ $P/"; i=$((i+1)); sleep \(pause); done
                """
            return .exec(["sh", "-c", script])
        }

        var expected: [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(chunks * lines * 1008)
            let tail = Array((" " + Self.filler + "\n").utf8)
            for k in 1...(chunks * lines) {
                bytes += Array(String(k).utf8)
                bytes += tail
            }
            return bytes
        }
    }

    /// A bucket, a client and a store (optionally through a proxy) for one test.
    final class Fixture: Sendable {
        let bucket: String
        let http: HTTPClient
        let client: S3Client
        let store: S3LogStore
        let proxy: PausableTCPProxy?

        init(throughProxy: Bool) async throws {
            bucket = try S3TestServer.makeBucket()
            let endpoint = URLComponents(string: S3TestServer.endpoint!)!
            var url = S3TestServer.endpoint!
            if throughProxy {
                let proxy = try await PausableTCPProxy.start(targetHost: endpoint.host!, targetPort: endpoint.port!)
                self.proxy = proxy
                url = "http://127.0.0.1:\(proxy.port)"
            } else {
                proxy = nil
            }
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
            client = S3Client(
                endpoint: S3Endpoint(url: url, region: S3TestServer.region!)!,
                credentials: S3Credentials(accessKeyID: S3TestServer.accessKeyID!, secretAccessKey: S3TestServer.secretAccessKey!),
                httpClient: http, retry: S3RetryPolicy(attempts: 2, initialDelay: .milliseconds(50), requestTimeout: .seconds(10)))
            store = S3LogStore(client: client, bucket: bucket, prefix: "logs/agent", partSize: S3Client.minimumPartSize)
        }

        func close() async throws {
            try await http.shutdown()
            try await proxy?.shutdown()
        }

        /// The final object of the task's first attempt, read with boto3 (not our client).
        func finalObject(_ task: TaskRecord) throws -> [UInt8]? {
            try S3TestServer.readObject(bucket: bucket, key: store.objectKey(LogKey(workflowID: task.workflowID, taskID: task.id, attempt: 1)))
        }

        func liveSegments(_ task: TaskRecord) throws -> [String] {
            try S3TestServer.listKeys(bucket: bucket).filter { $0.hasPrefix(store.liveFolder(LogKey(workflowID: task.workflowID, taskID: task.id, attempt: 1))) }
        }
    }

    @Test("a task writing 64 MiB of log over many flushes ends with an object byte-identical to its output")
    func sixtyFourMebibytes() async throws {
        guard try S3TestServer.shouldRun() else { return }
        let s3 = try await Fixture(throughProxy: false)
        let agent = try AgentHarness(poll: .milliseconds(200), store: s3.store) { $0.logFlushInterval = .milliseconds(500) }
        defer { Task { try? await agent.stop(); try? await s3.close() } }
        let writer = Writer(chunks: 34, lines: 2000, pause: "0.3")
        let expected = writer.expected
        #expect(expected.count >= 64 << 20)
        agent.start()
        let task = try await agent.submit("big", [TaskSpec(slug: "big", image: DockerTestEngine.image, command: writer.command)])["big"]!
        // While it runs, what S3 shows is a prefix of the output.
        var sawLive = false
        let deadline = ContinuousClock.now + .seconds(240)
        while ContinuousClock.now < deadline {
            let record = try await agent.queue.task(task.id)!
            if record.state.isTerminal { break }
            let key = LogKey(workflowID: task.workflowID, taskID: task.id, attempt: 1)
            if let live = try await s3.store.read(key: key, from: 0), live.count > 1 << 20 {
                #expect(Array(expected.prefix(live.count)) == live, "the live log is not a prefix of the output")
                sawLive = true
            }
            try await Task.sleep(for: .seconds(1))
        }
        let ended = try await agent.waitEnded(task.id, timeout: .seconds(60))
        #expect(ended.state == .completed)
        #expect(sawLive, "the log was never visible in S3 while the task ran")
        let object = try await waitForObject(s3, ended, timeout: .seconds(60))
        #expect(object.count == expected.count)
        #expect(object == expected, "the final object differs from the container's output")
        #expect(try s3.liveSegments(ended).isEmpty)
        let sent = s3.client.statistics.bodyBytesSent
        print("64 MiB log: \(expected.count) bytes written, \(sent) body bytes sent (\(String(format: "%.2f", Double(sent) / Double(expected.count)))×)")
        #expect(sent <= Int64(Double(expected.count) * 2.2) + s3.store.partSize)
    }

    @Test("S3 cut mid-task: the task still completes, the spool keeps the log, and the object is complete once S3 is back")
    func outage() async throws {
        guard try S3TestServer.shouldRun() else { return }
        let s3 = try await Fixture(throughProxy: true)
        let agent = try AgentHarness(poll: .milliseconds(200), store: s3.store) { $0.logFlushInterval = .milliseconds(400) }
        defer { Task { try? await agent.stop(); try? await s3.close() } }
        let writer = Writer(chunks: 16, lines: 800, pause: "0.25")
        agent.start()
        let task = try await agent.submit("cut", [TaskSpec(slug: "cut", image: DockerTestEngine.image, command: writer.command)])["cut"]!
        _ = try await agent.waitFor(task.id) { $0.state == .running }
        try await Task.sleep(for: .seconds(1.5))
        s3.proxy!.pause()
        let ended = try await agent.waitEnded(task.id, timeout: .seconds(90))
        #expect(ended.state == .completed, "an unreachable S3 must not hold the task back")
        let attempt = try await agent.queue.attempts(of: task.id)[0]
        #expect(attempt.logShipped < attempt.logSpooled, "nothing should have reached S3 during the outage")
        try await Task.sleep(for: .seconds(2))  // the backlog keeps failing meanwhile
        s3.proxy!.resume()
        let object = try await waitForObject(s3, ended, timeout: .seconds(60))
        #expect(object == writer.expected)
        #expect(try s3.liveSegments(ended).isEmpty)
        // The queue learns it too.
        let deadline = ContinuousClock.now + .seconds(10)
        var shipped = try await agent.queue.attempts(of: task.id)[0]
        while shipped.logShipped < shipped.logSpooled, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            shipped = try await agent.queue.attempts(of: task.id)[0]
        }
        #expect(shipped.logShipped == shipped.logSpooled)
    }

    /// Waits until the task's final object exists and returns it.
    func waitForObject(_ s3: Fixture, _ task: TaskRecord, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let object = try s3.finalObject(task) { return object }
            try await Task.sleep(for: .milliseconds(300))
        }
        Issue.record("no final object for task \(task.spec.slug) after \(timeout)")
        return []
    }
}
