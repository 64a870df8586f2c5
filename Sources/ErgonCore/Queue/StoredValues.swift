import Foundation

/// How the queue engines (SQLite, PostgreSQL) write values into rows and read them back: ids
/// as lowercase UUID text, times as seconds since 1970, specs and outcomes as JSON with sorted
/// keys. An engine conforms by saying how it reports a value that does not decode
/// (``corrupt(_:)``), so each throws its own error naming its store.
public protocol StoredValues {
    /// A record that cannot be read, as this engine reports it.
    static func corrupt(_ problem: String) -> any Error
}

extension StoredValues {
    public static func text(_ id: UUID) -> String { id.uuidString.lowercased() }
    public static func seconds(_ date: Date) -> Double { date.timeIntervalSince1970 }
    public static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    /// The JSON both engines store, keys sorted.
    public static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw corrupt("a stored \(type) cannot be read: \(error)")
        }
    }

    /// A task's spec from its stored JSON, decoded once per distinct text (``DecodedTextCache``).
    public static func taskSpec(_ text: String) throws -> TaskSpec {
        try StoredTextCaches.specs.value(for: text) { try decode(TaskSpec.self, $0) }
    }

    /// A task's parent ids from their stored JSON list, decoded once per distinct text.
    public static func parentIDs(_ text: String) throws -> [UUID] {
        try StoredTextCaches.parents.value(for: text) { try decode([String].self, $0).map(uuid) }
    }

    /// An attempt's rental choice from its stored JSON, decoded once per distinct text: a tick
    /// reads every held attempt, and the choice never changes once the instance is ordered.
    public static func rentalChoice(_ text: String) throws -> RentalChoice {
        try StoredTextCaches.rentals.value(for: text) { try decode(RentalChoice.self, $0) }
    }

    public static func uuid(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw corrupt("a stored id is not a UUID: \"\(text)\"") }
        return id
    }

    public static func enumValue<T: RawRepresentable>(_ type: T.Type, _ text: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: text) else { throw corrupt("unknown \(type) \"\(text)\" (written by a newer Ergon?)") }
        return value
    }
}
