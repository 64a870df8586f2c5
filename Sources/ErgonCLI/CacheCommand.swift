import ArgumentParser
import ErgonCache
import ErgonCore
import ErgonDocker
import Foundation
import Logging

/// `ergon cache`: what the agent keeps between tasks (resources, and images in docker mode).
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List or prune the resource and image cache.",
        subcommands: [List.self, Prune.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cached resources (size, last use, pinned, in use) and the images the agent pulled.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let config = try options.load(quiet: json)
            let entries = try await config.withResourceCache { await $0.entries() }
            let images = config.mode == .docker
                ? await ImageUsageRecord(cacheDirectory: config.cacheDirectory, logger: Logger(label: "ergon.cache")).entries() : [:]
            if json {
                try printJSON(CacheListJSON(config: config, entries: entries, images: images))
                return
            }
            let total = entries.reduce(Int64(0)) { $0 + $1.size }
            print("resources in \(config.cacheDirectory): \(entries.count), \(ByteSizeParser.format(total)) of cache.max_size \(ByteSizeParser.format(config.cache.maxSize))")
            if !entries.isEmpty {
                print(TaskTable.table(
                    ["KEY", "TYPE", "SIZE", "LAST USED", "PINNED", "IN USE", "SOURCE"],
                    entries.map { entry in
                        [
                            String(entry.key.prefix(12)), entry.source.kind.rawValue + (entry.isFolder ? " (folder)" : ""),
                            ByteSizeParser.format(entry.size), TaskTable.time(entry.lastUsed), entry.pinned ? "yes" : "no",
                            entry.inUse.isEmpty ? "no" : "\(entry.inUse.count) task(s)", entry.source.shownURL,
                        ]
                    }))
            }
            guard config.mode == .docker else { return }
            print("\nimages recorded by the agent: \(images.count)")
            if !images.isEmpty {
                print(TaskTable.table(
                    ["IMAGE", "PULLED BY AGENT", "LAST USED", "PINNED"],
                    images.sorted { $0.value.lastUsed > $1.value.lastUsed }.map { image, entry in
                        [image, entry.pulledByAgent ? "yes" : "no", TaskTable.time(entry.lastUsed), entry.pinned ? "yes" : "no"]
                    }))
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the cache policy now (TTL, max size); --all removes every entry and image no task uses and none is pinned.")
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Remove every unpinned resource and agent-pulled image that nothing uses, whatever its age.")
        var all = false

        func run() async throws {
            let config = try options.load()
            let report = try await config.withResourceCache { await $0.prune(all: all) }
            for removal in report.removed {
                print("removed \(removal.source.kind.rawValue) \(removal.source.shownURL) (\(ByteSizeParser.format(removal.size)), \(removal.reason.rawValue))")
            }
            if !report.leftovers.isEmpty { print("removed \(report.leftovers.count) unfinished download(s)") }
            print("resources: \(report.removed.count) removed, \(ByteSizeParser.format(report.bytesFreed)) freed")
            guard config.mode == .docker else { return }
            let removed = try await ConfiguredBackend.with(config) { backend -> [String] in
                guard let docker = backend as? DockerBackend else { return [] }
                return try await docker.images.purgeUnused(
                    olderThan: all ? .zero : config.cache.purgeUnusedAfter, now: Date(), required: config.cache.requiredImages)
            }
            for image in removed { print("removed image \(image)") }
            print("images: \(removed.count) removed")
        }
    }
}

/// `ergon cache list --json`.
struct CacheListJSON: Encodable {
    struct Entry: Encodable {
        let key: String
        let type: String
        let url: String
        let size: Int64
        let lastUsed: Date
        let created: Date
        let pinned: Bool
        let inUse: [String]
        let folder: Bool
        let sha256: String?
    }
    struct Image: Encodable {
        let image: String
        let pulledByAgent: Bool
        let lastUsed: Date
        let pinned: Bool
    }
    let directory: String
    let maxSize: Int64
    let resources: [Entry]
    let images: [Image]

    init(config: ErgonConfig, entries: [CacheEntryInfo], images: [String: ImageUsageRecord.Entry]) {
        directory = config.cacheDirectory
        maxSize = config.cache.maxSize
        resources = entries.map {
            Entry(
                key: $0.key, type: $0.source.kind.rawValue, url: $0.source.shownURL, size: $0.size,
                lastUsed: $0.lastUsed, created: $0.created, pinned: $0.pinned,
                inUse: $0.inUse.map { $0.uuidString.lowercased() }.sorted(), folder: $0.isFolder, sha256: $0.sha256)
        }
        self.images = images.sorted { $0.key < $1.key }.map {
            Image(image: $0.key, pulledByAgent: $0.value.pulledByAgent, lastUsed: $0.value.lastUsed, pinned: $0.value.pinned)
        }
    }
}
