import ErgonCore
import Foundation
import Logging

/// The Vast machines that ran each image lately, and when they last did.
///
/// Hosts keep pulled images between rentals, so such a machine starts the image again without
/// pulling it; `vast_api.prefer_warm_hosts_within` lets a launch pick one over a slightly
/// cheaper cold machine (``OfferSelection/preferWarm(_:warm:within:image:)``). The record is a
/// small JSON file (the agent's `<cache dir>/vast-warm-hosts.json`), so a restarted agent and
/// `ergon offers --image` see the same machines. Hosts prune their image caches, so a machine
/// counts for ``retention`` after it last ran the image.
public actor WarmHosts {
    /// The file's name inside the cache directory.
    public static let fileName = "vast-warm-hosts.json"
    /// How long a machine stays warm for an image after it last ran it.
    public static let retention: TimeInterval = 7 * 86400
    /// How old a machine's time may get before an instance still running the image refreshes it
    /// on disk: the listing repeats every few seconds, the file need not.
    static let refreshInterval: TimeInterval = 3600

    /// The JSON file.
    public nonisolated let path: String
    /// The clock the record's times come from.
    nonisolated let now: @Sendable () -> Date
    private let logger: Logger
    /// Image key (``key(_:)``) → machine id → when the image last ran there.
    private var lastRan: [String: [Int: Date]]
    /// Keys of the images listings named, so a listing of a thousand instances parses each
    /// distinct image once, not once per instance per tick. Bounded by ``keyCacheLimit``.
    private var keys: [String: String] = [:]
    static let keyCacheLimit = 1024

    /// Loads the record at `path`: a missing file is an empty record, an unreadable one is
    /// logged and started again; machines past ``retention`` are dropped.
    public init(path: String, now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "ergon.vast")) {
        self.path = path
        self.now = now
        self.logger = logger
        self.lastRan = Self.pruned(Self.load(path: path, logger: logger), at: now())
    }

    /// The record's path in a cache directory (`ErgonConfig.cacheDirectory`).
    public static func path(cacheDirectory: String) -> String {
        (cacheDirectory as NSString).appendingPathComponent(fileName)
    }

    /// One spelling per image, so `ubuntu` and `docker.io/library/ubuntu:latest` share machines.
    static func key(_ image: String) -> String {
        ImageReference.canonical(image)
    }

    private func cachedKey(_ image: String) -> String {
        if let key = keys[image] { return key }
        if keys.count >= Self.keyCacheLimit { keys.removeAll(keepingCapacity: true) }
        let key = Self.key(image)
        keys[image] = key
        return key
    }

    /// The machines that ran `image` within ``retention``, with when each last did.
    public func machines(for image: String) -> [Int: Date] {
        let time = now()
        return (lastRan[Self.key(image)] ?? [:]).filter { time.timeIntervalSince($0.value) < Self.retention }
    }

    /// Records that each machine ran its image, at `date` (default: now). The file is written
    /// when a pair is new or its time is more than ``refreshInterval`` older; a failed write is
    /// logged and the record kept in memory.
    public func record(_ runs: [(image: String, machine: Int)], at date: Date? = nil) {
        let time = date ?? now()
        var changed = false
        for run in runs {
            let key = cachedKey(run.image)
            if let known = lastRan[key]?[run.machine], time.timeIntervalSince(known) < Self.refreshInterval { continue }
            lastRan[key, default: [:]][run.machine] = time
            changed = true
        }
        guard changed else { return }
        lastRan = Self.pruned(lastRan, at: now())
        do {
            try save()
        } catch {
            logger.warning("could not write the warm-host record \(path): \(error); it is kept in memory until the next write")
        }
    }

    private func save() throws {
        let file = File(images: lastRan.mapValues { machines in
            Dictionary(uniqueKeysWithValues: machines.map { (String($0.key), $0.value) })
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try DurableFile.write(try encoder.encode(file), to: path)
    }

    private static func load(path: String, logger: Logger) -> [String: [Int: Date]] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let file = try decoder.decode(File.self, from: data)
            return file.images.mapValues { machines in
                Dictionary(machines.compactMap { entry in Int(entry.key).map { ($0, entry.value) } }) { max($0, $1) }
            }
        } catch {
            // A lost record only costs a pull: start again rather than stop the agent.
            logger.warning("the warm-host record \(path) cannot be read (\(error)); starting a new one")
            return [:]
        }
    }

    private static func pruned(_ record: [String: [Int: Date]], at time: Date) -> [String: [Int: Date]] {
        record.mapValues { $0.filter { time.timeIntervalSince($0.value) < retention } }.filter { !$0.value.isEmpty }
    }

    /// The file's shape: `{"version": 1, "images": {"IMAGE": {"MACHINE": "ISO 8601 time"}}}`.
    private struct File: Codable {
        var version = 1
        var images: [String: [String: Date]]
    }
}

extension VastInstance {
    /// True once the instance's container has started: its image is on the machine.
    var hasStartedItsImage: Bool {
        switch actualStatus?.lowercased() {
        case "running", "exited": true
        default: false
        }
    }
}
