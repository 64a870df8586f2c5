import Foundation

extension ConfigLoader {
    static let notifyKeys = ["webhook_url", "headers", "secret"]

    /// Reads `notify`: the webhook that receives a JSON `POST` when a workflow ends, extra
    /// headers for it, and the key that signs each body. No message shows a header value or
    /// the secret.
    static func readNotify(_ section: DocumentNode?) throws(DocumentNode.Fault) -> ErgonConfig.Notify {
        var notify = ErgonConfig.Notify()
        guard let section, !section.isNull else { return notify }
        let fields = try section.fields(allowed: notifyKeys)
        if let node = fields["webhook_url"] {
            let text = try node.nonEmptyString("an http(s) URL, e.g. https://hooks.example.org/ergon")
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                let host = url.host, !host.isEmpty
            else {
                throw node.fault(.invalidValue, "invalid URL \(node.shown) (expected http:// or https:// with a host, e.g. https://hooks.example.org/ergon)")
            }
            notify.webhookURL = url
        }
        if let node = fields["headers"] {
            guard node.isMapping else { throw node.fault(.wrongType, "expected a mapping of header names to values, got \(node.shown)") }
            for (name, value) in try node.entries() {
                guard !name.isEmpty, name.allSatisfy(Self.isHeaderNameCharacter) else {
                    throw value.fault(.invalidValue, "\"\(name)\" is not a valid HTTP header name (letters, digits and -)")
                }
                guard !Self.reservedHeaders.contains(name.lowercased()) else {
                    throw value.fault(.invalidValue, "\(name) is set by the agent itself; leave it out")
                }
                guard let text = try? value.string(), !text.isEmpty else {
                    throw value.fault(.wrongType, "expected a header value, e.g. \"Bearer ${HOOK_TOKEN}\"")
                }
                guard !text.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                    throw value.fault(.invalidValue, "a header value cannot hold a line break")
                }
                notify.headers[name] = ErgonConfig.Secret(text)
            }
        }
        if let node = fields["secret"] {
            guard let text = try? node.string(), text.count >= 16 else {
                throw node.fault(.invalidValue, "the signing secret must be at least 16 characters (e.g. from `openssl rand -hex 32`, as ${ERGON_WEBHOOK_SECRET})")
            }
            notify.secret = ErgonConfig.Secret(text)
        }
        if notify.webhookURL == nil, let stray = fields["headers"] ?? fields["secret"] {
            throw stray.fault(.missing, "has no effect without notify.webhook_url")
        }
        return notify
    }

    /// Headers the agent writes itself.
    static let reservedHeaders: Set<String> = ["content-type", "content-length", "host", "x-ergon-signature", "x-ergon-delivery"]

    /// An HTTP token character (RFC 9110), as header names use them.
    static func isHeaderNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "!#$%&'*+-.^_`|~".contains(character))
    }
}
