/// A required member of a Vast API object was missing, null or unreadable.
struct VastFieldMissing: Error, Sendable, Equatable {
    /// The member's key.
    var field: String
}
