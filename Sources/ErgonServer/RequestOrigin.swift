import ErgonCore
import Hummingbird

/// The origin URLs handed to workers start with: `server.public_url` when set (what rented hosts
/// reach), else the `Host` the request came to, with the scheme the server speaks.
struct RequestOrigin: Sendable {
    let publicURL: String?
    let tls: Bool

    func origin(of request: Request) -> String {
        if let publicURL, let origin = ErgonConfig.Server.publicOrigin(publicURL) { return origin }
        let host = request.head.authority.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        return (tls ? "https://" : "http://") + host
    }
}
