/// Why an image's configuration could not be read from its registry. The message names the
/// registry and the image, never a password or a token.
public struct RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure it is.
    public enum Kind: String, Sendable {
        /// The image reference cannot be parsed.
        case badReference
        /// The registry or its token service cannot be reached, or answers 429 or 5xx.
        case unreachable
        /// No complete answer within the lookup's deadline.
        case timeout
        /// The registry refused the credentials, or asks for some it has not been given.
        case unauthorized
        /// The repository, tag, manifest or blob does not exist.
        case notFound
        /// An answer that is not a manifest or image configuration, or has no linux/amd64 image.
        case malformed
    }

    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
