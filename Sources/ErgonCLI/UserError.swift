import ErgonCore
import Foundation

/// A mistake the user can fix (bad config, bad workflow file, unknown task): exit status 2.
struct UserError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Something outside the user's input failed (engine unreachable, disk error): exit status 1.
struct EnvironmentError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension QueueError {
    /// How the CLI reports a queue error: a missing or ambiguous id or an illegal request is
    /// the user's to fix; a schema problem is the installation's.
    var forCLI: any Error {
        switch kind {
        case .notFound, .ambiguous, .illegalTransition, .invalidWorkflow: return UserError(message)
        case .schemaTooNew, .unavailable, .notHeld: return EnvironmentError(message)
        }
    }
}

/// Runs `body`, turning queue errors into CLI errors.
func mappingQueueErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as QueueError {
        throw error.forCLI
    }
}
