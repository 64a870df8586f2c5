import ErgonCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// How a `PostgresLocation` becomes postgres-nio's configurations: the pooled client the
/// queue runs its transactions on, and single connections (migrations, the listener, admin).
extension PostgresLocation {
    /// How long a TCP connection may take before it counts as failed, so a wrong host fails fast.
    static let connectTimeout: Int64 = 10

    /// The TLS settings of `tls`, or nil for `disable`. `prefer` and `require` encrypt without
    /// checking the certificate (libpq's meaning); `verify-full` checks it against
    /// `rootCertificate` (or the system's roots) and the host name.
    func tlsConfiguration() throws -> TLSConfiguration? {
        switch tls {
        case .disable:
            return nil
        case .prefer, .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let rootCertificate {
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw QueueError(
                        .unavailable,
                        "cannot use the PostgreSQL queue at \(self): cannot read sslrootcert \(rootCertificate): \(error)")
                }
            }
            return configuration
        }
    }

    /// The pooled client's configuration.
    func clientConfiguration(maximumConnections: Int) throws -> PostgresClient.Configuration {
        let clientTLS: PostgresClient.Configuration.TLS
        switch (tls, try tlsConfiguration()) {
        case (_, nil): clientTLS = .disable
        case (.prefer, let configuration?): clientTLS = .prefer(configuration)
        case (_, let configuration?): clientTLS = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: clientTLS)
        configuration.options.connectTimeout = .seconds(Self.connectTimeout)
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    /// A single connection's configuration.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let connectionTLS: PostgresConnection.Configuration.TLS
        switch (tls, try tlsConfiguration()) {
        case (_, nil): connectionTLS = .disable
        case (.prefer, let configuration?): connectionTLS = .prefer(try NIOSSLContext(configuration: configuration))
        case (_, let configuration?): connectionTLS = .require(try NIOSSLContext(configuration: configuration))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(Self.connectTimeout)
        return configuration
    }

    /// Opens one connection outside the pool; failures become `QueueError(.unavailable)`
    /// naming the location and the reason.
    func connect(logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                configuration: try connectionConfiguration(), id: Int.random(in: 1...Int(Int32.max)), logger: logger)
        } catch {
            throw PostgresErrorText.queueError(error, at: self)
        }
    }

    /// Runs `body` on a fresh connection and closes it afterwards, also when `body` throws.
    func withConnection<T: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw PostgresErrorText.queueError(error, at: self)
        }
    }
}
