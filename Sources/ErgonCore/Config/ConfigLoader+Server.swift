import Foundation

extension ConfigLoader {
    static let serverKeys = ["listen", "public_url", "tls_cert", "tls_key", "operator_token"]

    /// Reads `server`: where the agent's HTTP API listens, how rented hosts reach it, TLS,
    /// and the operator token of the task API. No message ever shows the token.
    static func readServer(_ section: DocumentNode?, paths: ConfigPaths) throws(DocumentNode.Fault) -> ErgonConfig.Server {
        var server = ErgonConfig.Server()
        guard let section, !section.isNull else { return server }
        let fields = try section.fields(allowed: serverKeys)
        if let node = fields["listen"], !node.isNull {
            let value = try node.nonEmptyString("HOST:PORT, e.g. 127.0.0.1:8321, or off")
            if value == "off" {
                server.listen = nil
            } else {
                guard let address = ErgonConfig.Server.ListenAddress(value) else {
                    throw node.fault(.invalidValue, "invalid listen address \(node.shown) (expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8321 or [::1]:8321, or off)")
                }
                server.listen = address
            }
        }
        if let node = fields["public_url"], !node.isNull {
            let value = try node.nonEmptyString("the origin rented hosts reach the agent at, e.g. https://ergon.example.org:8321")
            guard let origin = ErgonConfig.Server.publicOrigin(value) else {
                throw node.fault(.invalidValue, "invalid public_url \(node.shown) (expected a bare origin http(s)://HOST[:PORT] with no path: workers join /api/v1/... to it)")
            }
            server.publicURL = origin
        }
        let cert = try fields["tls_cert"].map { node throws(DocumentNode.Fault) in try readableFile(node, paths: paths) }
        let key = try fields["tls_key"].map { node throws(DocumentNode.Fault) in try readableFile(node, paths: paths) }
        switch (cert, key) {
        case (nil, nil): break
        case (let cert?, let key?): server.tls = .init(certificateFile: cert, keyFile: key)
        case (nil, _):
            throw DocumentNode.Fault(kind: .missing, path: "server.tls_cert", problem: "required with server.tls_key (a PEM certificate chain)", line: section.line)
        case (_, nil):
            throw DocumentNode.Fault(kind: .missing, path: "server.tls_key", problem: "required with server.tls_cert (a PEM private key)", line: section.line)
        }
        if let node = fields["operator_token"], !node.isNull {
            guard let value = try? node.string(), !value.isEmpty else {
                throw node.fault(.wrongType, "expected a token, e.g. ${ERGON_OPERATOR_TOKEN}")
            }
            guard value.count >= 16, !value.contains(where: { $0.isWhitespace }) else {
                throw node.fault(.invalidValue, "the operator token must be at least 16 characters with no whitespace (e.g. from `openssl rand -hex 32`)")
            }
            server.operatorToken = ErgonConfig.Secret(value)
        }
        return server
    }

    private static func readableFile(_ node: DocumentNode, paths: ConfigPaths) throws(DocumentNode.Fault) -> String {
        let path = try paths.resolve(node)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw node.fault(.invalidValue, "\(path): no such readable file")
        }
        return path
    }
}
