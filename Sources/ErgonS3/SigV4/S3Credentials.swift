/// The key pair (and, for temporary credentials, the session token) that signs S3 requests.
///
/// Printing credentials (`description`, `debugDescription`, `dump`) never shows the secret or the
/// session token, so they are safe to interpolate into logs and error messages.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The access key ID, e.g. `AKIAIOSFODNN7EXAMPLE`.
    public var accessKeyID: String
    /// The secret access key; only the signer reads it.
    public var secretAccessKey: String
    /// The session token of temporary (STS) credentials, sent as `x-amz-security-token`.
    public var sessionToken: String?

    /// Credentials from a key pair and, for temporary credentials, a session token.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `access key AKIA… (secret hidden)`: the first characters of the key ID, never the secret.
    public var description: String {
        let shown = accessKeyID.count > Self.shownKeyCharacters ? "\(accessKeyID.prefix(Self.shownKeyCharacters))…" : accessKeyID
        let hidden = sessionToken == nil ? "secret hidden" : "secret and session token hidden"
        return "access key \(shown) (\(hidden))"
    }

    /// `S3Credentials(access key AKIA… (secret hidden))`.
    public var debugDescription: String {
        "S3Credentials(\(description))"
    }

    /// A mirror without the secret, so `dump` and debuggers do not reveal it either.
    public var customMirror: Mirror {
        Mirror(self, children: ["credentials": description], displayStyle: .struct)
    }

    /// How much of the key ID is printed: enough to tell the kind of key, not to reuse it.
    private static let shownKeyCharacters = 4
}
