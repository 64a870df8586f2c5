import AsyncHTTPClient
import ErgonCore
import Foundation
import NIOCore

/// Posts webhook bodies, one request per report, with a client of its own that follows no
/// redirect: AsyncHTTPClient would resend a redirected POST as a GET without its body (an
/// `http://` URL answered by a redirect to `https://` would then count as delivered) and would
/// carry `notify.headers` and the signature to another host. A 3xx is a failed try like any
/// other answer that is not 2xx, and its warning names the status.
struct HTTPWebhookTransport: WebhookTransport {
    /// The most of an answer's body that is read (and dropped): a receiver's reply is not used.
    static let answerLimit = 64 * 1024

    /// Lives as long as the process, so it is never shut down (a static is never deinitialized).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func post(to url: URL, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(body)
        let response = try await Self.client.execute(request, timeout: TimeAmount(timeout))
        // Read the answer so the connection can be reused; what it says does not matter.
        _ = try? await response.body.collect(upTo: Self.answerLimit)
        return Int(response.status.code)
    }
}
