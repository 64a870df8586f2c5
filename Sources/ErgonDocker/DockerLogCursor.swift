/// A position in a container's log that never repeats nor skips a message across reads.
///
/// The engine's `since` is inclusive and several messages can share a timestamp, so a bare
/// timestamp is not a position. The cursor holds an instant `since` and the number `taken` of
/// messages stamped at or after it that were already returned. The log is append-only, so the
/// messages the engine returns for `since` start with those `taken` ones, in the same order;
/// the rest are new.
///
/// `since` trails the newest timestamp read by ``overlap``: stdout and stderr are stamped by two
/// copiers before they are written to the log, so a message can land in the log just after one
/// stamped slightly later. Re-asking for the last second keeps such a message from being skipped,
/// and `taken` keeps the re-read part from being returned twice.
///
/// Encoded as `v1:<seconds.nanoseconds or ->:<taken>`.
public struct DockerLogCursor: Equatable, Sendable, CustomStringConvertible {
    /// How far `since` trails the newest message read, in nanoseconds.
    public static let overlap: Int64 = 1_000_000_000

    /// The `since` of the next read; nil reads from the start.
    public var since: DockerTimestamp?
    /// How many messages stamped at or after `since` were already returned.
    public var taken: Int

    /// A cursor from its parts.
    public init(since: DockerTimestamp?, taken: Int) {
        self.since = since
        self.taken = taken
    }

    /// The position before the first message.
    public static let start = DockerLogCursor(since: nil, taken: 0)

    /// Reads an encoded cursor; nil when it is not one.
    public init?(encoded: String) {
        let parts = encoded.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let taken = Int(parts[2]), taken >= 0 else { return nil }
        if parts[1] == "-" {
            self.init(since: nil, taken: taken)
        } else {
            guard let since = DockerTimestamp(apiParameter: String(parts[1])) else { return nil }
            self.init(since: since, taken: taken)
        }
    }

    /// The opaque string stored with the attempt.
    public var encoded: String { "v1:\(since?.apiParameter ?? "-"):\(taken)" }

    public var description: String { encoded }

    /// Given every message the engine returned for ``since`` (in its order), the bytes not yet
    /// returned (stdout and stderr merged in log order) and the cursor after them.
    public func advance(over messages: [DockerLogMessage]) -> (bytes: [UInt8], next: DockerLogCursor) {
        var bytes: [UInt8] = []
        for message in messages.dropFirst(taken) {
            bytes.append(contentsOf: message.payload)
        }
        guard let newest = messages.lazy.map(\.timestamp).max() else { return (bytes, self) }
        var nextSince = newest.adding(nanoseconds: -Self.overlap)
        if let since, nextSince < since { nextSince = since }
        let nextTaken = messages.count(where: { $0.timestamp >= nextSince })
        return (bytes, DockerLogCursor(since: nextSince, taken: nextTaken))
    }
}
