import ErgonCore
import Logging
import PostgresNIO

/// Creating and dropping whole databases, for tests and benchmarks that each want a fresh
/// one. Connects to the location's own database (typically `postgres`) as its user, who
/// needs the CREATEDB privilege.
public enum PostgresAdmin {
    /// Creates database `name` on the server of `location`.
    public static func createDatabase(
        _ name: String, on location: PostgresLocation, logger: Logger = Logger(label: "ergon.postgres")
    ) async throws {
        _ = try await query("CREATE DATABASE \(quoted(name))", on: location, logger: logger)
    }

    /// Drops database `name` on the server of `location`, ending its sessions first; no
    /// error when it does not exist.
    public static func dropDatabase(
        _ name: String, on location: PostgresLocation, logger: Logger = Logger(label: "ergon.postgres")
    ) async throws {
        _ = try await query("DROP DATABASE IF EXISTS \(quoted(name)) WITH (FORCE)", on: location, logger: logger)
    }

    /// Runs SQL on the location's database and returns every row's cells as text (cast
    /// non-text columns with `::text`). For tests that look at or damage a queue's tables.
    @_spi(Testing)
    public static func query(
        _ sql: String, on location: PostgresLocation, logger: Logger = Logger(label: "ergon.postgres")
    ) async throws -> [[String?]] {
        try await location.withConnection(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().map { row in
                try row.map { try $0.decode(String?.self) }
            }
        }
    }

    /// `name` as an SQL identifier: in double quotes, inner quotes doubled.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
