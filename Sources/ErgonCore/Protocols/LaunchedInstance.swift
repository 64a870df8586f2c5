import Foundation

/// What a backend's `launch` tells about the instance it started: its id, and for a rented one
/// the offer chosen.
public struct LaunchedInstance: Equatable, Sendable {
    /// The backend's id for the instance.
    public var id: String
    /// The offer the instance was rented on; nil for a backend that rents nothing (docker).
    public var rental: RentalChoice?

    public init(id: String, rental: RentalChoice? = nil) {
        self.id = id
        self.rental = rental
    }
}
