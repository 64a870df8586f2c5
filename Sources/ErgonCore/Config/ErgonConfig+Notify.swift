import Foundation

extension ErgonConfig {
    /// Where the agent reports workflows that ended (`notify`).
    public struct Notify: Equatable, Sendable {
        /// The http(s) URL that receives one JSON `POST` per ended workflow; nil: no reports.
        public var webhookURL: URL?
        /// Extra request headers (an `Authorization` for the endpoint); values may be credentials.
        public var headers: [String: Secret] = [:]
        /// The key of the HMAC-SHA256 signature of each body (`X-Ergon-Signature: sha256=<hex>`).
        public var secret: Secret?
        public init() {}

        /// The URL's host, as warnings name the endpoint (its path or query may hold a token).
        public var host: String { webhookURL?.host ?? "-" }
    }
}
