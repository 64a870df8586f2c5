import ErgonCache
import ErgonCore
import Foundation
import Testing

/// The resource cache against a real HTTP server on 127.0.0.1.
@Suite struct ResourceCacheTests {
    typealias Kit = CacheTestKit

    func makeCache(
        _ directory: String, maxSize: Int64 = 1 << 20, purgeUnusedAfter: Duration = .seconds(3600), pinned: [ResourceSource] = [],
        clock: Kit.Clock = Kit.Clock()
    ) -> ResourceCache {
        ResourceCache(
            directory: directory + "/cache", maxSize: maxSize, purgeUnusedAfter: purgeUnusedAfter, pinned: pinned,
            fetcher: TestHTTPFetcher(), unpack: Kit.unpack, logger: Kit.logger, now: clock.read)
    }

    func resource(_ url: String, sha256: String? = nil, unpack: Bool = false) -> TaskResource {
        TaskResource(type: "HTTP", url: url, target: "/data/in", sha256: sha256, unpack: unpack)
    }

    func acquire(
        _ cache: ResourceCache, _ resources: [TaskResource], task: UUID = UUID(), useCache: Bool = true, keepArchives: Bool = false,
        privateDirectory: String = "/nonexistent"
    ) async throws -> [PreparedResource] {
        try await cache.acquire(resources, taskID: task, useCache: useCache, keepArchives: keepArchives, privateDirectory: privateDirectory)
    }

    /// `entry.json` files anywhere under the cache.
    func records(_ directory: String) -> [String] {
        Kit.list(directory + "/cache/entries").filter { FileManager.default.fileExists(atPath: directory + "/cache/entries/\($0)/entry.json") }
    }

    @Test func ttlPurgeAndSizeEvictionSpareHeldAndPinnedEntries() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                for (name, size) in [("p", 50), ("a", 100), ("b", 100), ("c", 100), ("d", 100)] {
                    server.serve(name, Kit.bytes(size))
                }
                let clock = Kit.Clock()
                let pinned = ResourceSource(kind: .http, url: server.url("p"))
                let cache = makeCache(directory, maxSize: 300, purgeUnusedAfter: .seconds(3600), pinned: [pinned], clock: clock)
                let prewarmed = await cache.prewarm()
                #expect(prewarmed.count == 1 && prewarmed[0].1 == nil)

                let holder = UUID()
                _ = try await acquire(cache, [resource(server.url("a"))], task: holder)
                let passing = UUID()
                _ = try await acquire(cache, [resource(server.url("b"))], task: passing)
                await cache.release(taskID: passing)

                // Two hours later: b goes; a is as old but held, p is pinned.
                clock.advance(by: 7200)
                let purged = await cache.enforcePolicy()
                #expect(purged.removed.map(\.source.url) == [server.url("b")])
                #expect(purged.removed.map(\.reason) == [.unusedPastTTL])
                #expect(purged.bytesFreed == 100)
                #expect(Set(await cache.entries().map(\.source.url)) == [server.url("a"), server.url("p")])

                // c then d: d does not fit beside p, a and c, so c (unused, least recent) makes room.
                let third = UUID()
                _ = try await acquire(cache, [resource(server.url("c"))], task: third)
                await cache.release(taskID: third)
                clock.advance(by: 60)
                let fourth = UUID()
                _ = try await acquire(cache, [resource(server.url("d"))], task: fourth)
                await cache.release(taskID: fourth)
                let afterD = await cache.entries()
                #expect(Set(afterD.map(\.source.url)) == [server.url("a"), server.url("p"), server.url("d")])
                #expect(afterD.first?.source.url == server.url("d"))
                #expect(afterD.first { $0.source.url == server.url("a") }?.inUse == [holder])
                #expect(afterD.first { $0.source.url == server.url("p") }?.pinned == true)

                // A smaller max_size read by another instance (as `ergon cache prune` would): the
                // leases come from disk, so only d goes, though a and p still exceed it.
                let smaller = makeCache(directory, maxSize: 120, pinned: [pinned], clock: clock)
                #expect(await smaller.holders() == [holder])
                let shrunk = await smaller.enforcePolicy()
                #expect(shrunk.removed.map(\.source.url) == [server.url("d")])
                #expect(shrunk.removed.map(\.reason) == [.overMaxSize])
                #expect(await smaller.prune(all: true).removed.isEmpty)

                await cache.release(taskID: holder)
                let pruned = await smaller.prune(all: true)
                #expect(pruned.removed.map(\.source.url) == [server.url("a")])
                #expect(await smaller.entries().map(\.source.url) == [server.url("p")])
                #expect(server.requests("p") == 1 && server.requests("a") == 1)
            }
        }
    }

    @Test func concurrentAcquiresShareOneDownload() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("model.bin", Kit.bytes(64 * 1024))
                server.delayAnswers(by: .milliseconds(300))
                let cache = makeCache(directory)
                let first = UUID()
                let second = UUID()
                async let a = acquire(cache, [resource(server.url("model.bin"))], task: first)
                async let b = acquire(cache, [resource(server.url("model.bin"))], task: second)
                let (heldA, heldB) = try await (a, b)
                #expect(server.requests("model.bin") == 1)
                #expect(heldA.count == 1 && heldA[0].path == heldB[0].path && heldA[0].cached)
                #expect(await cache.held(taskID: first) == heldA)
                #expect(await cache.held(taskID: second).map(\.path) == [heldA[0].path])
                #expect(await cache.holders() == [first, second])
                let entries = await cache.entries()
                #expect(entries.count == 1 && entries[0].inUse == [first, second] && entries[0].size == 64 * 1024)
                #expect(FileManager.default.contents(atPath: heldA[0].path) == Data(Kit.bytes(64 * 1024)))
                #expect(entries[0].sha256 == (try await Kit.sha256(ofFile: heldA[0].path)))
            }
        }
    }

    @Test func downloadCutShortLeavesNoCompleteEntryAndALaterAcquireSucceeds() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                let bytes = Kit.bytes(256 * 1024)
                server.serve("weights.bin", bytes)
                server.cutNextShort("weights.bin")
                let cache = makeCache(directory)
                let task = UUID()
                let error = await #expect(throws: ResourceError.self) {
                    try await acquire(cache, [resource(server.url("weights.bin"))], task: task)
                }
                #expect(error?.kind == .fetchFailed)
                #expect(await cache.entries().isEmpty)
                #expect(records(directory).isEmpty)
                #expect(await cache.holders().isEmpty)
                // The interrupted download stays for the next fetch to continue.
                let key = ResourceSource(kind: .http, url: server.url("weights.bin")).cacheKey
                #expect(Kit.list(directory + "/cache/partial") == ["\(key).download"])

                let kept = try #require(FileManager.default.contents(atPath: directory + "/cache/partial/\(key).download"))
                #expect(!kept.isEmpty && kept.count < bytes.count)
                let prepared = try await acquire(cache, [resource(server.url("weights.bin"))], task: task)
                #expect(FileManager.default.contents(atPath: prepared[0].path) == Data(bytes))
                #expect(server.requests("weights.bin") == 2)
                #expect(Kit.list(directory + "/cache/partial").isEmpty)
                #expect(await cache.entries().map(\.size) == [Int64(bytes.count)])
            }
        }
    }

    @Test func policyRunKeepsAFreshInterruptedDownloadAndRemovesAnOldOne() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("weights.bin", Kit.bytes(10_000))
                server.cutNextShort("weights.bin")
                let clock = Kit.Clock(Date())  // compared with the files' real modification times
                let cache = makeCache(directory, clock: clock)
                await #expect(throws: ResourceError.self) { try await acquire(cache, [resource(server.url("weights.bin"))]) }
                // Younger than cache.purge_unused_after: kept for the next try to resume (also
                // by the policy run at the agent's start).
                let early = await cache.enforcePolicy()
                #expect(early.leftovers.isEmpty)
                #expect(Kit.list(directory + "/cache/partial").count == 1)
                clock.advance(by: 3600 + 600)  // past the TTL, whenever the partial file was written
                let report = await cache.enforcePolicy()
                #expect(report.leftovers.contains { $0.hasSuffix(".download") })
                #expect(report.bytesFreed == 5_000)
                #expect(Kit.list(directory + "/cache/partial").isEmpty)
                #expect(Kit.list(directory + "/cache/locks").isEmpty)
            }
        }
    }

    @Test func cancelledAcquireStopsItsDownloadAndLeavesNoEntry() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("slow.bin", Kit.bytes(1000))
                server.delayAnswers(by: .seconds(2))
                let cache = makeCache(directory)
                let task = UUID()
                let acquiring = Task { try await acquire(cache, [resource(server.url("slow.bin"))], task: task) }
                try await Task.sleep(for: .milliseconds(300))
                acquiring.cancel()
                await #expect(throws: CancellationError.self) { try await acquiring.value }
                #expect(await cache.entries().isEmpty)
                #expect(records(directory).isEmpty)
                #expect(await cache.holders().isEmpty)

                server.delayAnswers(by: .zero)
                let prepared = try await acquire(cache, [resource(server.url("slow.bin"))], task: task)
                #expect(prepared[0].size == 1000)
            }
        }
    }

    @Test func pruneFromAnotherInstanceSparesADownloadInProgress() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                let bytes = Kit.bytes(20_000)
                server.serve("big.bin", bytes)
                server.cutNextShort("big.bin")
                let cache = makeCache(directory)
                await #expect(throws: ResourceError.self) { try await acquire(cache, [resource(server.url("big.bin"))]) }
                #expect(Kit.list(directory + "/cache/partial").count == 1)

                // The retry holds the key's lock while the server keeps it waiting; an operator's
                // prune (another instance, as in another process) must leave its files alone.
                server.delayAnswers(by: .seconds(2))
                async let retried = acquire(cache, [resource(server.url("big.bin"))])
                // Once the server has the retry's request, the retry holds the lock.
                let deadline = ContinuousClock.now + .seconds(30)
                while server.requests("big.bin") < 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let operatorPrune = await makeCache(directory).prune(all: true)
                #expect(operatorPrune.leftovers.isEmpty && operatorPrune.removed.isEmpty)
                #expect(Kit.list(directory + "/cache/partial").count == 1)
                let prepared = try await retried
                #expect(FileManager.default.contents(atPath: prepared[0].path) == Data(bytes))
            }
        }
    }

    @Test func wrongChecksumIsRefusedAndLeavesNothing() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("data.bin", Kit.bytes(4096))
                let cache = makeCache(directory)
                let wrong = String(repeating: "0", count: 64)
                let error = await #expect(throws: ResourceError.self) {
                    try await acquire(cache, [resource(server.url("data.bin"), sha256: wrong)])
                }
                #expect(error?.kind == .checksumMismatch)
                let actual = try await Kit.sha256(ofFile: try writeTemporary(Kit.bytes(4096), in: directory))
                #expect(error?.message.contains(wrong) == true && error?.message.contains(actual) == true)
                #expect(await cache.entries().isEmpty)
                #expect(Kit.list(directory + "/cache/entries").isEmpty)
                #expect(Kit.list(directory + "/cache/partial").isEmpty)
                #expect(await cache.holders().isEmpty)

                // The right digest is accepted.
                let prepared = try await acquire(cache, [resource(server.url("data.bin"), sha256: actual.uppercased())])
                #expect(prepared[0].size == 4096)
            }
        }
    }

    @Test func staleEntryIsReplacedWhenNoTaskHoldsIt() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("v.bin", Kit.bytes(1000, seed: 1))
                let cache = makeCache(directory)
                let holder = UUID()
                _ = try await acquire(cache, [resource(server.url("v.bin"))], task: holder)
                // The file changes at the source; a task names the new digest.
                let newer = Kit.bytes(1000, seed: 2)
                server.serve("v.bin", newer)
                let digest = try await Kit.sha256(ofFile: try writeTemporary(newer, in: directory))
                let held = await #expect(throws: ResourceError.self) {
                    try await acquire(cache, [resource(server.url("v.bin"), sha256: digest)])
                }
                #expect(held?.kind == .fetchFailed, "retryable: the entry is replaced once its holders end")
                await cache.release(taskID: holder)
                let prepared = try await acquire(cache, [resource(server.url("v.bin"), sha256: digest)])
                #expect(FileManager.default.contents(atPath: prepared[0].path) == Data(newer))
                #expect(await cache.entries().map(\.sha256) == [digest])
            }
        }
    }

    @Test func largerThanTheCacheIsRefusedBeforeAnyByteIsWritten() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("huge.bin", Kit.bytes(100_000))
                let cache = makeCache(directory, maxSize: 10_000)
                let error = await #expect(throws: ResourceError.self) {
                    try await acquire(cache, [resource(server.url("huge.bin"))])
                }
                #expect(error?.kind == .tooLarge)
                #expect(error?.message.contains("cache.max_size") == true)
                #expect(error?.message.contains("97.7 KiB") == true && error?.message.contains("9.8 KiB") == true)
                #expect(error?.message.contains(server.url("huge.bin")) == true)
                #expect(server.requests("huge.bin") <= 1)
                #expect(Kit.list(directory + "/cache/partial").isEmpty)
                #expect(Kit.list(directory + "/cache/entries").isEmpty)
                #expect(await cache.holders().isEmpty)
            }
        }
    }

    @Test func uncachedResourcesGoToThePrivateFolderAndReleaseRemovesIt() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                server.serve("one.bin", Kit.bytes(3000))
                server.serve("two.json", Kit.bytes(10))
                let cache = makeCache(directory)
                let task = UUID()
                let privateDirectory = directory + "/work/\(task).resources"
                let prepared = try await acquire(
                    cache, [resource(server.url("one.bin")), resource(server.url("two.json"))], task: task, useCache: false,
                    privateDirectory: privateDirectory)
                #expect(prepared.map(\.path) == [privateDirectory + "/0", privateDirectory + "/1"])
                #expect(prepared.allSatisfy { !$0.cached && !$0.isFolder && $0.contentType == "application/octet-stream" })
                #expect(FileManager.default.contents(atPath: privateDirectory + "/0") == Data(Kit.bytes(3000)))
                #expect(Kit.list(privateDirectory) == ["0", "1"])
                #expect(await cache.entries().isEmpty)
                #expect(await cache.held(taskID: task) == prepared)

                await cache.release(taskID: task)
                #expect(!FileManager.default.fileExists(atPath: privateDirectory))
                #expect(await cache.holders().isEmpty)
                await cache.release(taskID: task)
            }
        }
    }

    @Test func unpackedTarBecomesAFolderEntry() async throws {
        try await ResourceFileServer.withRunning { server in
            try await Kit.withTemporaryDirectory { directory in
                let tree = directory + "/tree"
                try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
                try Data("hello".utf8).write(to: URL(fileURLWithPath: tree + "/a.txt"))
                try Data(Kit.bytes(2000)).write(to: URL(fileURLWithPath: tree + "/sub/b.bin"))
                let archive = directory + "/model.tar"
                try await Kit.tar(["-cf", archive, "-C", tree, "."])
                let archiveBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
                server.serve("model.tar", archiveBytes)
                let cache = makeCache(directory)

                let prepared = try await acquire(cache, [resource(server.url("model.tar"), unpack: true)])
                #expect(prepared[0].isFolder && prepared[0].contentType == "inode/directory")
                #expect(prepared[0].size == 2005)
                #expect(FileManager.default.contents(atPath: prepared[0].path + "/a.txt") == Data("hello".utf8))
                #expect(FileManager.default.contents(atPath: prepared[0].path + "/sub/b.bin") == Data(Kit.bytes(2000)))
                let entry = try #require(await cache.entries().first)
                #expect(entry.isFolder && entry.source.unpack)
                #expect(entry.sha256 == (try await Kit.sha256(ofFile: archive)))
                #expect(Kit.list(directory + "/cache/partial").isEmpty)
                #expect(Kit.list(directory + "/cache/entries/\(entry.key)") == ["content", "entry.json"])

                // Kept packed (vast mode): the raw archive is its own entry, served as a tar.
                let packed = try await acquire(cache, [resource(server.url("model.tar"), unpack: true)], keepArchives: true)
                #expect(!packed[0].isFolder && packed[0].contentType == "application/x-tar")
                #expect(packed[0].size == Int64(archiveBytes.count))
                #expect(await cache.entries().count == 2)
            }
        }
    }

    func writeTemporary(_ bytes: [UInt8], in directory: String) throws -> String {
        let path = directory + "/expected-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
