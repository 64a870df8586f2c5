import AsyncHTTPClient
import ErgonCore
import Foundation
import NIOCore

/// Posts webhook bodies with the process's shared HTTP client (`HTTPClient.shared`, which needs
/// no shutdown), one request per report.
struct HTTPWebhookTransport: WebhookTransport {
    /// The most of an answer's body that is read (and dropped): a receiver's reply is not used.
    static let answerLimit = 64 * 1024

    func post(to url: URL, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
        // Read the answer so the connection can be reused; what it says does not matter.
        _ = try? await response.body.collect(upTo: Self.answerLimit)
        return Int(response.status.code)
    }
}
