import ErgonCore
import Foundation
import Logging

/// What happened on each Vast machine this agent rented, and the machines it keeps away from
/// because of it.
///
/// Each failure a host is blamed for (an instance that never finished provisioning, a
/// container that could not start, a host that went offline, an instance interrupted before
/// its command finished) is an event; so is each instance that became usable, with how long
/// that took. ``Policy`` turns a machine's events into an exclusion: one failure keeps the
/// machine away for a few hours, repeated failures for days. The record is a small JSON file
/// (the agent's `<cache dir>/vast-host-record.json`), so a restarted agent and
/// `ergon offers --explain` know the same machines; without a path it lives in memory.
public actor HostReputation {
    /// The file's name inside the cache directory.
    public static let fileName = "vast-host-record.json"
    /// The most events kept per machine (the latest).
    static let eventsKept = 50

    /// One thing that happened on a machine.
    public struct Event: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable {
            /// Still provisioning at the deadline.
            case provisioningTimeout = "provisioning_timeout"
            /// The container could not start (`OCI runtime create failed`).
            case failedStart = "failed_start"
            /// The host went offline or stopped reporting.
            case lost
            /// The instance stopped before its command finished.
            case interrupted
            /// The GPU failed the acceptance check (`vast_api.acceptance_check`).
            case failedCheck = "failed_check"
            /// The instance became usable (`seconds` after it was created).
            case provisioned

            /// True for what the host is blamed for.
            public var isFailure: Bool { self != .provisioned }
        }

        public var kind: Kind
        public var at: Date
        /// Provisioning time for `provisioned`.
        public var seconds: Double?
        /// What was seen, for people.
        public var reason: String?
        /// The machine's GPU model, for `provisioned` (absent in records older than this).
        public var gpu: String?

        public init(kind: Kind, at: Date, seconds: Double? = nil, reason: String? = nil, gpu: String? = nil) {
            self.kind = kind
            self.at = at
            self.seconds = seconds
            self.reason = reason
            self.gpu = gpu
        }
    }

    /// A machine kept away from, until when, and why.
    public struct Exclusion: Codable, Equatable, Sendable {
        public var machine: String
        public var until: Date
        public var reason: String
    }

    /// How events become exclusions (pure).
    public struct Policy: Equatable, Sendable {
        /// How long one failure keeps a machine away.
        public var afterOneFailure: TimeInterval = 6 * 3600
        /// How long repeated failures keep it away, from the latest one.
        public var afterRepeatedFailures: TimeInterval = 3 * 86_400
        /// The window in which failures count as repeated.
        public var window: TimeInterval = 7 * 86_400
        /// How long events are kept.
        public var retention: TimeInterval = 30 * 86_400

        public init() {}

        /// The exclusion `events` of `machine` call for at `now`, if any.
        public func exclusion(of machine: String, events: [Event], at now: Date) -> Exclusion? {
            let failures = events.filter { $0.kind.isFailure && now.timeIntervalSince($0.at) < window }.sorted { $0.at < $1.at }
            guard let latest = failures.last else { return nil }
            let repeated = failures.count >= 2
            let until = latest.at.addingTimeInterval(repeated ? afterRepeatedFailures : afterOneFailure)
            guard until > now else { return nil }
            let what = latest.reason ?? latest.kind.rawValue.replacingOccurrences(of: "_", with: " ")
            let reason = repeated
                ? "\(failures.count) failures in \(Reconciler.formatSpan(window)), the latest: \(what)"
                : what
            return Exclusion(machine: machine, until: until, reason: reason)
        }
    }

    public nonisolated let path: String?
    public nonisolated let policy: Policy
    nonisolated let now: @Sendable () -> Date
    private let logger: Logger
    private var events: [String: [Event]]
    /// The machine and last status of each instance seen in the latest listings.
    private var seen: [String: (machine: String, status: BackendInstance.Status, createdAt: Date?)] = [:]
    /// Instances whose provisioning or loss is already recorded.
    private var recorded: Set<String> = []

    /// Loads the record at `path` (nil: memory only); a missing file is an empty record, an
    /// unreadable one is logged and started again.
    public init(
        path: String? = nil, policy: Policy = Policy(), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "ergon.vast")
    ) {
        self.path = path
        self.policy = policy
        self.now = now
        self.logger = logger
        self.events = path.map { Self.load(path: $0, logger: logger) } ?? [:]
    }

    /// The record's path in a cache directory (`ErgonConfig.cacheDirectory`).
    public static func path(cacheDirectory: String) -> String {
        (cacheDirectory as NSString).appendingPathComponent(fileName)
    }

    /// Learns from a listing: the machine of each instance, how long each took to become usable,
    /// and hosts that went offline.
    public func noteListing(_ instances: [BackendInstance]) {
        let time = now()
        var changed = false
        for instance in instances {
            guard let machine = instance.machineID else { continue }
            seen[instance.id] = (machine, instance.status, instance.createdAt)
            guard !recorded.contains(instance.id) else { continue }
            switch instance.status {
            case .running, .exited, .ended:
                recorded.insert(instance.id)
                let seconds = instance.createdAt.map { max(0, time.timeIntervalSince($0)) }
                events[machine, default: []].append(Event(kind: .provisioned, at: time, seconds: seconds, gpu: instance.gpuName))
                changed = true
            case .lost(let reason):
                recorded.insert(instance.id)
                events[machine, default: []].append(Event(kind: .lost, at: time, reason: reason))
                changed = true
            case .provisioning, .failedStart:
                break
            }
        }
        if changed { save() }
    }

    /// Records that the host of `instanceID` failed it; returns the machine when it was known.
    /// What failed is read from the instance's last listed state: a container that could not
    /// start, an instance still provisioning (the deadline passed), or one that stopped before
    /// its command finished. `kind` names the failure instead, when the caller knows it.
    @discardableResult
    public func blame(instance instanceID: String, reason: String, kind known: Event.Kind? = nil) -> String? {
        guard let last = seen[instanceID] else { return nil }
        let kind = known ?? Self.failure(after: last.status)
        if kind == .lost, recorded.contains(instanceID) { return last.machine }  // the listing recorded it
        recorded.insert(instanceID)
        record(machine: last.machine, Event(kind: kind, at: now(), reason: reason))
        return last.machine
    }

    /// The failure an instance last seen in `status` is blamed for.
    static func failure(after status: BackendInstance.Status) -> Event.Kind {
        switch status {
        case .failedStart: return .failedStart
        case .provisioning: return .provisioningTimeout
        case .lost: return .lost
        case .running, .exited, .ended: return .interrupted
        }
    }

    /// Adds an event to a machine's record.
    public func record(machine: String, _ event: Event) {
        events[machine, default: []].append(event)
        save()
    }

    /// The machines kept away from now, with until when and why, by machine id.
    public func exclusions() -> [Exclusion] {
        let time = now()
        return events.compactMap { policy.exclusion(of: $0.key, events: $0.value, at: time) }
            .sorted { (Int($0.machine) ?? .max, $0.machine) < (Int($1.machine) ?? .max, $1.machine) }
    }

    /// The machines kept away from now, with why.
    public func current() -> [String: String] {
        Dictionary(uniqueKeysWithValues: exclusions().map { ($0.machine, $0.reason) })
    }

    /// The provisioning times recorded on each machine, oldest first.
    public func provisioningTimes() -> [String: [Double]] {
        events.compactMapValues { machine in
            let seconds = Self.provisioned(machine).map(\.seconds)
            return seconds.isEmpty ? nil : seconds
        }
    }

    /// The provisioning times recorded on machines of each GPU model, oldest first per machine.
    public func provisioningTimesByGPU() -> [String: [Double]] {
        var times: [String: [Double]] = [:]
        for provisioned in events.values.flatMap(Self.provisioned) {
            if let gpu = provisioned.gpu { times[gpu, default: []].append(provisioned.seconds) }
        }
        return times
    }

    /// The times and GPU models of the `provisioned` events that carry a time.
    private static func provisioned(_ events: [Event]) -> [(seconds: Double, gpu: String?)] {
        events.compactMap { event in event.kind == .provisioned ? event.seconds.map { ($0, event.gpu) } : nil }
    }

    /// How many failures each machine had within the policy's window.
    public func recentFailures() -> [String: Int] {
        let time = now()
        return events.compactMapValues { machine in
            let count = machine.count { $0.kind.isFailure && time.timeIntervalSince($0.at) < policy.window }
            return count == 0 ? nil : count
        }
    }

    /// A machine's events, oldest first.
    public func events(of machine: String) -> [Event] {
        events[machine] ?? []
    }

    private func save() {
        let time = now()
        events = events.mapValues { machine in
            Array(machine.filter { time.timeIntervalSince($0.at) < policy.retention }.suffix(Self.eventsKept))
        }.filter { !$0.value.isEmpty }
        guard let path else { return }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try DurableFile.write(try encoder.encode(File(machines: events)), to: path)
        } catch {
            logger.warning("could not write the host record \(path): \(error); it is kept in memory until the next write")
        }
    }

    private static func load(path: String, logger: Logger) -> [String: [Event]] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path))).machines
        } catch {
            logger.warning("the host record \(path) cannot be read (\(error)); starting a new one")
            return [:]
        }
    }

    /// The file's shape: `{"version": 1, "machines": {"MACHINE": [event, …]}}`.
    private struct File: Codable {
        var version = 1
        var machines: [String: [Event]]
    }
}
