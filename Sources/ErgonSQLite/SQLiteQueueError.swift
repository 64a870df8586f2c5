/// A queue file that cannot be used: it cannot be opened, or a stored record cannot be read.
public struct SQLiteQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// The file cannot be opened or created as an SQLite database.
        case cannotOpen
        /// A stored value does not decode (a damaged file, or one a newer Ergon wrote).
        case corruptRecord
    }

    /// What went wrong.
    public var kind: Kind
    /// A message for the user; it names the file when the file is at fault.
    public var message: String

    /// An error of this kind with its message.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
