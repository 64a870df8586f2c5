/// A stored record the PostgreSQL queue cannot read (a damaged row, or one a newer Ergon wrote).
public struct PostgresQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// A stored value does not decode.
        case corruptRecord
    }

    /// What went wrong.
    public var kind: Kind
    /// A message for the user.
    public var message: String

    /// An error of this kind with its message.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
