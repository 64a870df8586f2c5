import ErgonCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Turns the errors of postgres-nio, NIO and the connection pool into plain reasons for
/// people. `PSQLError` hides its details from `description` (they may hold query values);
/// this reads the server's message and the connection failure, which hold no password.
enum PostgresErrorText {
    /// The error as the queue reports it: `QueueError`s and stored-record errors as they are,
    /// a cancelled request as `CancellationError`, anything else as `.unavailable` naming
    /// the location (without its password) and the reason.
    static func queueError(_ error: any Error, at location: PostgresLocation) -> any Error {
        switch error {
        case is QueueError, is PostgresQueueError, is CancellationError:
            return error
        case let error as PSQLError where error.code == .queryCancelled && Task.isCancelled:
            return CancellationError()
        default:
            return QueueError(.unavailable, "cannot use the PostgreSQL queue at \(location): \(reason(error))")
        }
    }

    /// Why the operation failed, in a few words.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError: return reason(error)
        case let error as NIOConnectionError: return reason(error)
        case let error as IOError: return reason(error)
        case let error as ChannelError:
            if case .connectTimeout(let timeout) = error {
                return "no answer within \(timeout.nanoseconds / 1_000_000_000) s (is the host right and the server running?)"
            }
            return "\(error)"
        case let error as NIOSSLError: return "TLS failed: \(error)"
        case let error as BoringSSLError: return "TLS failed: \(error)"
        case let error as PostgresDecodingError:
            return "cannot read column \(error.columnName) (\(error.postgresType)) as \(error.targetType)"
        default:
            // The pool's own error type lives in an underscored module; its one error that
            // reaches here is the circuit breaker giving up after failed connection attempts.
            if "\(type(of: error))" == "ConnectionPoolError" {
                return "cannot connect to the server (connection attempts kept failing)"
            }
            return "\(error)"
        }
    }

    private static func reason(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + state
        }
        switch error.code {
        case .connectionError, .failedToAddSSLHandler:
            return error.underlying.map(reason) ?? "cannot connect to the server"
        case .sslUnsupported:
            return "the server does not offer TLS (use sslmode=disable or prefer, or enable ssl on the server)"
        case .authMechanismRequiresPassword:
            return "the server asks for a password and none was given (put it in the URL or PGPASSWORD)"
        case .unsupportedAuthMechanism:
            return "the server asks for an authentication method this client does not support"
        case .saslError:
            return "SCRAM authentication failed" + (error.underlying.map { ": \($0)" } ?? "")
        case .serverClosedConnection, .uncleanShutdown:
            return "the server closed the connection"
        case .poolClosed:
            return "the queue was closed"
        case .clientClosedConnection:
            return "the connection was closed"
        case .queryCancelled:
            return "the query was cancelled"
        default:
            return "PostgreSQL client error \(error.code)" + (error.underlying.map { ": \(reason($0))" } ?? "")
        }
    }

    private static func reason(_ error: NIOConnectionError) -> String {
        if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty {
            return "cannot resolve host name \(error.host)"
        }
        guard let first = error.connectionErrors.first?.error else { return "cannot connect to \(error.host):\(error.port)" }
        return reason(first)
    }

    private static func reason(_ error: IOError) -> String {
        switch error.errnoCode {
        case ECONNREFUSED: return "connection refused (is the server running and listening on that port?)"
        case ETIMEDOUT: return "the connection timed out"
        case EHOSTUNREACH, ENETUNREACH: return "the host cannot be reached"
        default: return String(cString: strerror(error.errnoCode)).lowercased()
        }
    }
}
