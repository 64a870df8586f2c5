import ErgonVast
import Foundation

extension SimulatedVast {
    /// `GET /__sim/history`: when the simulator started (epoch seconds, so a caller can place
    /// its own events on the same time line), the time now and every instance's history.
    public func historyJSON() -> JSONValue {
        [
            "started_at": .number(marketStart.timeIntervalSince1970),
            "now": .number(SimulatedOffer.rounded(clock.now().timeIntervalSince(marketStart))),
            "instances": .array(history().map(\.json)),
        ]
    }

    /// Every instance ever created, oldest first, with its create label and its times relative
    /// to the simulator's start.
    public func history() -> [InstanceHistoryEntry] {
        let now = clock.now()
        return instances.values.sorted { $0.id < $1.id }.map { instance in
            let destroyed = instance.isDestroyed(at: now)
            return InstanceHistoryEntry(
                id: instance.id, createLabel: instance.request.label, label: instance.label,
                createdAt: instance.createdAt.timeIntervalSince(marketStart),
                destroyedAt: destroyed ? instance.destroyedAt.map { $0.timeIntervalSince(marketStart) } : nil,
                state: destroyed ? "destroyed" : instance.status(at: now).actual ?? "unknown",
                billedSeconds: instance.billedSeconds(at: now), fault: instance.fault?.kindName)
        }
    }
}

extension SimulatedInstance.LifecycleFault {
    /// The fault kind's name, as in a fault file.
    var kindName: String {
        switch self {
        case .stuckLoading: return FaultKind.stuckLoading.rawValue
        case .ociFailure: return FaultKind.ociFailure.rawValue
        case .hostOffline: return FaultKind.hostOffline.rawValue
        }
    }
}
