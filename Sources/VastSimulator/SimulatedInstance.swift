import ErgonVast
import Foundation

/// One instance of the simulated account: what was asked at create and what happened since.
///
/// Its state at any moment is computed from these facts and the clock (``status(at:)``), so
/// nothing needs a timer and a manual clock makes every transition deterministic.
struct SimulatedInstance: Sendable {
    /// One start of the command: the first at create, another after each start of a stopped
    /// instance. `start` is when loading began.
    struct Run: Sendable {
        var start: Date
        /// When it was stopped (by the user, by an interruption), possibly in the future for a
        /// scheduled interruption.
        var stoppedAt: Date?
    }

    /// A failure decided at create by the fault plan.
    enum LifecycleFault: Sendable, Equatable {
        case stuckLoading
        case ociFailure(message: String)
        case hostOffline(after: Double)
    }

    let id: Int
    let offer: SimulatedOffer
    let createdAt: Date
    /// The key Vast gives the instance (`instance_api_key`, `CONTAINER_API_KEY`): it may stop its
    /// own instance, as arkindex-base-worker does.
    let apiKey: String
    var label: String?
    let request: CreateRequest
    let program: SimulatedProgram
    /// Lines the launch wrapper prints before the command's output in every run (the
    /// acceptance check's passed line).
    let preamble: [String]
    /// The line Ergon's launch wrapper prints at exit, without the status (nil when the create
    /// does not run the wrapper).
    let exitMarkerPrefix: String?
    let fault: LifecycleFault?
    var runs: [Run]
    var destroyedAt: Date?
    /// The hourly price: the GPU price (or the bid) plus the storage asked for.
    let dphTotal: Double
    /// The real container behind the instance, in `--docker` mode.
    var container: InstanceContainer?

    /// Where the last run stands at `now`.
    enum Phase: Equatable {
        case loading
        case created(message: String)
        case running(elapsed: Double)
        case offline(elapsed: Double)
        /// Stopped `elapsed` seconds into the command (nil: before it started).
        case stopped(elapsed: Double?)
        case finished
    }

    /// The phase of run `index` at `now`.
    func phase(ofRun index: Int, at now: Date) -> Phase {
        let run = runs[index]
        let firstRun = index == 0
        let stopped = run.stoppedAt.flatMap { $0 <= now ? $0 : nil }
        let loadEnd = run.start.addingTimeInterval(program.loadSeconds)
        if firstRun, fault == .stuckLoading {
            return stopped == nil ? .loading : .stopped(elapsed: nil)
        }
        if now < loadEnd || (stopped.map { $0 < loadEnd } ?? false) {
            return stopped == nil ? .loading : .stopped(elapsed: nil)
        }
        if firstRun, case .ociFailure(let message) = fault {
            return stopped == nil ? .created(message: message) : .stopped(elapsed: nil)
        }
        let runEnd = loadEnd.addingTimeInterval(program.runSeconds)
        if firstRun, case .hostOffline(let after) = fault {
            let offlineAt = loadEnd.addingTimeInterval(after)
            if offlineAt < runEnd, now >= offlineAt, (stopped.map { $0 > offlineAt } ?? true) {
                return .offline(elapsed: after)
            }
        }
        if let stopped, stopped < runEnd {
            return .stopped(elapsed: stopped.timeIntervalSince(loadEnd))
        }
        if now < runEnd {
            return .running(elapsed: now.timeIntervalSince(loadEnd))
        }
        return .finished
    }

    /// The phase of the current run.
    func phase(at now: Date) -> Phase {
        phase(ofRun: runs.count - 1, at: now)
    }

    /// The command's output so far, every run after the other (a restarted command prints again).
    func outputLines(at now: Date) -> [String] {
        var lines: [String] = []
        for index in runs.indices {
            switch phase(ofRun: index, at: now) {
            case .loading, .created, .stopped(elapsed: nil):
                continue
            case .running(let elapsed), .offline(let elapsed), .stopped(elapsed: let elapsed?):
                lines += preamble + program.lines(instanceID: id, elapsed: elapsed, exitMarker: nil)
            case .finished:
                lines += preamble + program.lines(
                    instanceID: id, elapsed: program.runSeconds,
                    exitMarker: exitMarkerPrefix.map { "\($0)\(program.exitCode)" })
            }
        }
        return lines
    }

    /// True once the instance is destroyed at `now`.
    func isDestroyed(at now: Date) -> Bool {
        destroyedAt.map { $0 <= now } ?? false
    }

    /// Seconds billed: from create until destroyed (stopped instances still bill their disk, and
    /// the simulator bills them whole, which is what matters for leak tests).
    func billedSeconds(at now: Date) -> Double {
        max(0, (destroyedAt ?? now).timeIntervalSince(createdAt))
    }
}
