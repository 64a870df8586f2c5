import ErgonVast

/// One instance's life as the simulator recorded it: `GET /__sim/history`.
///
/// A soak run (`Scripts/chaos`) reads these to find duplicates (two instances of one task alive
/// at once), orphans and the seconds billed for nothing, from the simulator's own records rather
/// than from what the agent believes. Times are seconds since the simulator started, on its clock.
public struct InstanceHistoryEntry: Sendable, Equatable {
    /// The instance id.
    public var id: Int
    /// The label the create asked for (nil for none): which task and attempt ordered it.
    public var createLabel: String?
    /// The label now (a takeover relabels an instance).
    public var label: String?
    /// When it was created.
    public var createdAt: Double
    /// When it was destroyed; nil while it lives.
    public var destroyedAt: Double?
    /// Its `actual_status` now (`loading`, `running`, `exited`, `stopped`, `offline`, …), or
    /// `destroyed`.
    public var state: String
    /// Seconds billed: from create until destroyed, or now.
    public var billedSeconds: Double
    /// The lifecycle fault decided at create (`stuck_loading`, `oci_failure`, `host_offline`), if any.
    public var fault: String?

    /// The entry as `GET /__sim/history` writes it.
    public var json: JSONValue {
        [
            "id": .number(Double(id)),
            "create_label": createLabel.map(JSONValue.string) ?? .null,
            "label": label.map(JSONValue.string) ?? .null,
            "created_at": .number(SimulatedOffer.rounded(createdAt)),
            "destroyed_at": destroyedAt.map { .number(SimulatedOffer.rounded($0)) } ?? .null,
            "state": .string(state),
            "billed_seconds": .number(SimulatedOffer.rounded(billedSeconds)),
            "fault": fault.map(JSONValue.string) ?? .null,
        ]
    }
}
