import Foundation
import Synchronization

/// Values already decoded from stored JSON text, by that text.
///
/// A scheduler tick reads every held task, and a task's spec and parents never change after it
/// is submitted: decoding the same texts with `JSONDecoder` on every tick was a tenth of a
/// tick's CPU with a thousand tasks. The cache is bounded; when full it starts over, so a long
/// run keeps only what recent ticks read.
public final class DecodedTextCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The value decoded from `text`: a cached one, else `decode(text)`, which is then kept.
    /// A text that fails to decode is not kept, so the error comes back every time.
    public func value(for text: String, decode: (String) throws -> Value) rethrows -> Value {
        if let known = entries.withLock({ $0[text] }) { return known }
        let value = try decode(text)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = value
        }
        return value
    }

    /// How many values are kept (tests).
    public var count: Int { entries.withLock { $0.count } }
}

/// The caches both queue engines read task rows through.
enum StoredTextCaches {
    /// Room for the specs and parent lists of the largest fleets a tick reads, several times over.
    static let capacity = 8192
    static let specs = DecodedTextCache<TaskSpec>(capacity: capacity)
    static let parents = DecodedTextCache<[UUID]>(capacity: capacity)
    static let rentals = DecodedTextCache<RentalChoice>(capacity: capacity)
}
