import Foundation

/// How a queue reads the task id a user typed: a full UUID in any case, or a unique
/// prefix of its lowercase form with at least 4 hex digits. Shared so every engine
/// accepts the same text and words its errors the same way.
public enum TaskIDLookup {
    /// The fewest hex digits a prefix must have.
    public static let minimumPrefixDigits = 4

    /// What the text asks for.
    public enum Query: Equatable, Sendable {
        /// A full id.
        case id(UUID)
        /// The start of an id's lowercase string form.
        case prefix(String)
    }

    /// Parses the text, or throws `QueueError(.notFound)` saying what is wrong with it.
    public static func query(_ text: String) throws -> Query {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let id = UUID(uuidString: trimmed) { return .id(id) }
        let prefix = trimmed.lowercased()
        guard !prefix.isEmpty, prefix.count <= 36, prefix.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw QueueError(.notFound, "\"\(text)\" is not a task id (expected a UUID or the start of one)")
        }
        guard prefix.filter(\.isHexDigit).count >= minimumPrefixDigits else {
            throw QueueError(
                .notFound, "task id \"\(text)\" is too short: give at least \(minimumPrefixDigits) characters of the id")
        }
        return .prefix(prefix)
    }

    /// The one id among the tasks that matched the text, or a `.notFound`/`.ambiguous` error
    /// naming the text. `matches` lists (id, slug) pairs in submission order; a few suffice.
    public static func resolve(_ text: String, matches: [(id: UUID, slug: String)]) throws -> UUID {
        switch matches.count {
        case 0:
            throw QueueError(.notFound, "no task has an id starting with \"\(text)\"")
        case 1:
            return matches[0].id
        default:
            let listed = matches.prefix(5).map { "\($0.id.uuidString.lowercased()) (\($0.slug))" }
            throw QueueError(
                .ambiguous,
                "task id \"\(text)\" matches several tasks: \(listed.joined(separator: ", ")); give more characters")
        }
    }

    /// The error for a full id no task has.
    public static func unknownID(_ id: UUID) -> QueueError {
        QueueError(.notFound, "no task with id \(id.uuidString.lowercased())")
    }
}
