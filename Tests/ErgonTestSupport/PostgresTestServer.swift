import ErgonCore
import ErgonPostgres
import Foundation
import Synchronization
import Testing

/// How test suites reach a PostgreSQL server, and the trait that gates them on it.
///
/// The admin URL comes from `ERGON_TEST_POSTGRES_URL` (e.g. `postgres://ergon@127.0.0.1:5433/postgres`,
/// the password in the URL or `PGPASSWORD`); its user must be allowed to create databases. Without
/// it the tests skip, unless `ERGON_REQUIRE_POSTGRES=1`, where they fail saying how to start one.
public enum PostgresTestServer {
    public static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// True when `ERGON_REQUIRE_POSTGRES=1`: a missing server fails the tests instead of skipping them.
    public static var isRequired: Bool { environment["ERGON_REQUIRE_POSTGRES"] == "1" }

    /// How to get a server.
    public static let setupHint =
        "run `bash Scripts/test`, or `source Scripts/lib/postgres.sh && ergon_postgres_up` and export ERGON_TEST_POSTGRES_URL"

    /// The server's admin location, or why there is none.
    public static let admin: Result<PostgresLocation, Unavailable> = {
        guard let text = environment["ERGON_TEST_POSTGRES_URL"], !text.isEmpty else {
            return .failure(Unavailable(description: "ERGON_TEST_POSTGRES_URL is not set"))
        }
        do throws(PostgresLocation.ParseError) {
            return .success(try PostgresLocation.parse(text, environment: environment))
        } catch {
            return .failure(Unavailable(description: "ERGON_TEST_POSTGRES_URL cannot be used: \(error.problem)"))
        }
    }()

    /// The server is missing (or its URL is wrong) while `ERGON_REQUIRE_POSTGRES=1`.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Throws when the server is unusable and required; true when usable, false to skip.
    public static func shouldRun() throws -> Bool {
        switch admin {
        case .success: return true
        case .failure(let reason):
            if isRequired { throw Unavailable(description: "ERGON_REQUIRE_POSTGRES=1 but \(reason); \(setupHint)") }
            return false
        }
    }

    /// The admin location; throws when there is none.
    public static func adminLocation() throws -> PostgresLocation {
        try admin.get()
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when `ERGON_TEST_POSTGRES_URL` names a server; with
    /// `ERGON_REQUIRE_POSTGRES=1` a missing one fails the test instead of skipping it.
    public static var postgresServer: Self {
        .enabled(
            Comment(rawValue: "needs a PostgreSQL server on $ERGON_TEST_POSTGRES_URL: \(PostgresTestServer.setupHint); "
                + "set ERGON_REQUIRE_POSTGRES=1 to fail instead")
        ) {
            try PostgresTestServer.shouldRun()
        }
    }
}

/// Fresh databases for one test, `ergon_test_<8 hex>` each, dropped (after closing the queues
/// opened on them) when the test ends.
public final class PostgresScratch: Sendable {
    public let admin: PostgresLocation
    private let databases = Mutex<[String]>([])
    private let queues = Mutex<[PostgresTaskQueue]>([])

    public init(admin: PostgresLocation) {
        self.admin = admin
    }

    /// Creates an empty database and returns its location.
    public func makeDatabase() async throws -> PostgresLocation {
        let name = "ergon_test_" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        databases.withLock { $0.append(name) }
        try await PostgresAdmin.createDatabase(name, on: admin)
        return admin.database(name)
    }

    /// Opens a queue on the location, closed when the test ends.
    public func open(_ location: PostgresLocation) async throws -> PostgresTaskQueue {
        let queue = try await PostgresTaskQueue.open(location)
        queues.withLock { $0.append(queue) }
        return queue
    }

    /// A queue on a fresh database.
    public func makeQueue() async throws -> PostgresTaskQueue {
        try await open(try await makeDatabase())
    }

    /// Closes the queues and drops the databases.
    public func cleanUp() async {
        for queue in queues.withLock({ queues in defer { queues = [] }; return queues }) { await queue.close() }
        for name in databases.withLock({ names in defer { names = [] }; return names }) {
            do {
                try await PostgresAdmin.dropDatabase(name, on: admin)
            } catch {
                Issue.record("cannot drop test database \(name): \(error)")
            }
        }
    }
}

/// Runs `body` with fresh databases to make, dropped afterwards, also when `body` throws.
public func withPostgresScratch<T>(_ body: (PostgresScratch) async throws -> T) async throws -> T {
    let scratch = PostgresScratch(admin: try PostgresTestServer.adminLocation())
    do {
        let result = try await body(scratch)
        await scratch.cleanUp()
        return result
    } catch {
        await scratch.cleanUp()
        throw error
    }
}

/// Runs `body` with a queue on a fresh database, dropped afterwards.
public func withFreshQueue<T>(_ body: (PostgresTaskQueue) async throws -> T) async throws -> T {
    try await withPostgresScratch { scratch in try await body(try await scratch.makeQueue()) }
}

/// Counts the elements of a `changes()` stream, consumed in a task of its own.
public final class ChangeCounter: Sendable {
    private let count = Mutex(0)
    private let consumer = Mutex<Task<Void, Never>?>(nil)

    public init(_ changes: AsyncStream<Void>) {
        // The consumer holds the counter until `stop`.
        let task = Task {
            for await _ in changes { self.count.withLock { $0 += 1 } }
        }
        consumer.withLock { $0 = task }
    }

    /// The elements seen so far.
    public var seen: Int { count.withLock { $0 } }

    /// True once at least `expected` elements were seen, false after `timeout`.
    public func wait(for expected: Int, within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while seen < expected {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Cancels the consumer and waits for its stream to end.
    public func stop() async {
        let task = consumer.withLock { $0 }
        task?.cancel()
        await task?.value
    }
}
