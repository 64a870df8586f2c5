import Foundation

/// Where a PostgreSQL queue lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]`.
/// The password comes from the URL (write it as `${VAR}`) or from `PGPASSWORD`; it is never
/// shown (`description` leaves it out).
public struct PostgresLocation: Equatable, Sendable, CustomStringConvertible {
    /// How the connection uses TLS, with libpq's names.
    public enum TLSMode: String, Equatable, Sendable, CaseIterable {
        /// Never.
        case disable
        /// When the server offers it (libpq's default), without checking its certificate.
        case prefer
        /// Always, without checking the server's certificate.
        case require
        /// Always, checking the certificate against `sslrootcert` (or the system's roots) and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// A PEM file of trusted roots for `verify-full` (`sslrootcert`).
    public var rootCertificate: String?

    public init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
        tls: TLSMode = .prefer, rootCertificate: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    /// The URL without its password.
    public var description: String {
        var text = "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        if tls != .prefer { text += "?sslmode=\(tls.rawValue)" }
        return text
    }

    /// The same server, another database (tests and benchmarks make one each).
    public func database(_ name: String) -> PostgresLocation {
        var copy = self
        copy.database = name
        return copy
    }

    /// Reads a `postgres://` or `postgresql://` URL; the error says what is wrong with it.
    public static func parse(_ text: String, environment: [String: String]) throws(ParseError) -> PostgresLocation {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw ParseError("does not start with postgres:// (postgres://USER@HOST[:PORT]/DATABASE)")
        }
        guard let components = URLComponents(string: text) else {
            throw ParseError("is not a valid URL (percent-encode special characters in the user and password, or set the password in PGPASSWORD)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ParseError("names no host (postgres://USER@HOST[:PORT]/DATABASE)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ParseError("names no user (postgres://USER@\(host)/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw ParseError("names no database (postgres://\(user)@\(host)/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw ParseError("has port \(port), out of range") }
        var tls = TLSMode.prefer
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw ParseError(
                        "has an unknown sslmode \"\(item.value ?? "")\" (accepted: \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                tls = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw ParseError("has an empty sslrootcert (a PEM file of trusted roots)") }
                rootCertificate = value
            default:
                throw ParseError("has an unknown parameter \"\(item.name)\" (accepted: sslmode, sslrootcert)")
            }
        }
        if rootCertificate != nil && tls != .verifyFull {
            throw ParseError("has sslrootcert, which is used only with sslmode=verify-full")
        }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGPASSWORD"]
        return PostgresLocation(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port, user: user,
            password: password, database: database, tls: tls, rootCertificate: rootCertificate)
    }

    /// Why a URL cannot be used.
    public struct ParseError: Error, Equatable, Sendable {
        public var problem: String
        public init(_ problem: String) { self.problem = problem }
    }
}
