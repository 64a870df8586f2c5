import Foundation
import Synchronization

/// The simulator's time: every state transition, log line and billed second is computed from it,
/// so a test with a manual clock is deterministic and runs as fast as it can advance the clock.
///
/// A system clock follows the wall clock; a manual clock stands still until ``advance(by:)``.
/// Both can be advanced (a system clock then runs ahead of the wall clock by the total advanced),
/// which lets a demo skip a long provisioning phase.
public final class SimulatedClock: Sendable {
    /// True when time only moves through ``advance(by:)``.
    public let isManual: Bool
    private let start: Date
    private let offset: Mutex<Double>

    private init(isManual: Bool, start: Date) {
        self.isManual = isManual
        self.start = start
        self.offset = Mutex(0)
    }

    /// The wall clock.
    public static func system() -> SimulatedClock {
        SimulatedClock(isManual: false, start: Date())
    }

    /// A clock that stands still at `start` until advanced.
    public static func manual(startingAt start: Date = Date(timeIntervalSince1970: 1_750_000_000)) -> SimulatedClock {
        SimulatedClock(isManual: true, start: start)
    }

    /// The current simulated time.
    public func now() -> Date {
        let skew = offset.withLock { $0 }
        return (isManual ? start : Date()).addingTimeInterval(skew)
    }

    /// Moves time forward by `seconds` (negative values are ignored: time never goes back).
    public func advance(by seconds: Double) {
        guard seconds > 0, seconds.isFinite else { return }
        offset.withLock { $0 += seconds }
    }
}
