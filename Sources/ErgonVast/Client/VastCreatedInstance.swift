/// What a successful create answered: the new instance's id (`new_contract`).
///
/// The answer's `instance_api_key` is deliberately not kept: the agent has no use for it and it is
/// a credential.
public struct VastCreatedInstance: Sendable, Equatable {
    /// The new instance's id.
    public var id: Int

    /// Creates the value (tests).
    public init(id: Int) {
        self.id = id
    }
}
