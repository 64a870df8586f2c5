import Foundation

/// Posts a body to a webhook and answers the HTTP status. The agent's is an HTTP client; the
/// notifier only decides what to send, when, and what an answer means.
public protocol WebhookTransport: Sendable {
    /// Sends `body` with `headers` in one `POST`; throws when no answer came within `timeout`
    /// (connection refused, reset, timed out).
    func post(to url: URL, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async throws -> Int
}
