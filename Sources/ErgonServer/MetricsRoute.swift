import ErgonCore
import Foundation
import Hummingbird
import Logging

/// `GET /metrics`: the agent's metrics in Prometheus's text exposition format.
///
/// It sits behind ``OperatorGate`` like any operator read: the metrics tell what the agent
/// runs and spends, and a listen address on loopback may still be published by a reverse
/// proxy, so no address is trusted on its own. Prometheus sends the token with
/// `authorization: {credentials_file: ...}` in its scrape config.
struct MetricsRoute: Sendable {
    let render: @Sendable () -> String
    let operatorToken: ErgonConfig.Secret?
    let logger: Logger

    /// The content type of the text format, version 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func add(to router: Router<BasicRequestContext>) {
        let gate = OperatorGate<BasicRequestContext>(token: operatorToken, logger: logger)
        router.group("/metrics").add(middleware: gate).get { _, _ in response() }
    }

    func response() -> Response {
        let buffer = ByteBuffer(string: render())
        return Response(
            status: .ok,
            headers: [.contentType: Self.contentType, .contentLength: String(buffer.readableBytes)],
            body: ResponseBody(byteBuffer: buffer))
    }
}
