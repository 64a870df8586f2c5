import Crypto
import Foundation

/// The secret a task's worker sends back as `Authorization: Ponos <token>`. Generated per
/// attempt from the system's secure random source; the queue keeps only its SHA-256.
public struct WorkerToken: Sendable, CustomStringConvertible {
    /// The token itself; goes only into the attempt's environment.
    public let value: String

    public init(value: String) {
        self.value = value
    }

    /// 32 random bytes, hex-encoded (64 characters, safe in any header or environment).
    public static func generate() -> WorkerToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return WorkerToken(value: bytes.map { String(format: "%02x", $0) }.joined())
    }

    /// The hex SHA-256 of the token: what the queue stores and looks tokens up by.
    public var hash: String { Self.hash(of: value) }

    public static func hash(of token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Never prints the secret.
    public var description: String { "(worker token)" }
}

/// What the queue records for a worker token: the attempt it belongs to, and until when.
public struct TokenGrant: Equatable, Sendable, Codable {
    /// Hex SHA-256 of the token.
    public var hash: String
    public var taskID: UUID
    public var attempt: Int
    /// After this the token is refused even while the attempt still runs.
    public var expiresAt: Date

    public init(hash: String, taskID: UUID, attempt: Int, expiresAt: Date) {
        self.hash = hash
        self.taskID = taskID
        self.attempt = attempt
        self.expiresAt = expiresAt
    }
}

/// The worker API a task's container reaches back to, and its credential (docker and vast mode).
public struct WorkerAccess: Sendable {
    /// `server.public_url` + `/api/v1/`.
    public var apiURL: String
    public var token: WorkerToken

    public init(apiURL: String, token: WorkerToken) {
        self.apiURL = apiURL
        self.token = token
    }
}
