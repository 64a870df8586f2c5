import AsyncHTTPClient
import ErgonCore
import ErgonTestSupport
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import ErgonDocker

/// The image record's file and rules, with no engine.
@Suite("Image usage record")
struct ImageUsageRecordTests {
    static let hour: TimeInterval = 3600

    @Test func aMissingFileIsAnEmptyRecordAndTheFirstUseWritesIt() async throws {
        let directory = try DockerFixtures.temporaryDirectory() + "/not-yet/cache"
        let record = ImageUsageRecord(cacheDirectory: directory)
        #expect(record.path == directory + "/images.json")
        #expect(await record.entries().isEmpty)
        let used = Date(timeIntervalSince1970: 1_700_000_000)
        await record.recordUse(of: "ubuntu", .pulled(wasPresent: false), at: used)
        #expect(!FileManager.default.fileExists(atPath: directory + "/images.json.tmp"))
        let reread = ImageUsageRecord(cacheDirectory: directory)
        let expected = ImageUsageRecord.Entry(pulledByAgent: true, lastUsed: used, pulledAt: used)
        #expect(await reread.entries() == ["docker.io/library/ubuntu:latest": expected])
    }

    @Test func aCorruptFileIsLoggedAndStartedAfresh() async throws {
        let directory = try DockerFixtures.temporaryDirectory()
        let path = directory + "/images.json"
        let log = LogCapture()
        for corrupt in ["{not json", #"{"version": 99, "images": {}}"#, #"{"version": 1, "images": {"a": {"lastUsed": 3}}}"#] {
            try corrupt.write(toFile: path, atomically: true, encoding: .utf8)
            let record = ImageUsageRecord(path: path, logger: log.logger())
            #expect(await record.entries().isEmpty)
            await record.recordUse(of: "img:1", .local, at: Date(timeIntervalSince1970: 1_700_000_000))
            #expect(await ImageUsageRecord(path: path).entry(for: "img:1")?.pulledByAgent == false)
        }
        #expect(log.lines.filter { $0.hasPrefix("error the image record is corrupt; starting afresh") }.count == 3)
        #expect(log.text.contains("unknown record version 99"))
    }

    @Test func anImageIsTheAgentsOnlyWhenItsPullBroughtIt() async throws {
        let record = ImageUsageRecord(path: nil)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        // Found on the engine, then re-pulled over the engine's copy: still the operator's image.
        await record.recordUse(of: "theirs:1", .local, at: start)
        await record.recordUse(of: "theirs:1", .pulled(wasPresent: true), at: start + Self.hour)
        let theirs = ImageUsageRecord.Entry(pulledByAgent: false, lastUsed: start + Self.hour, pulledAt: start + Self.hour)
        #expect(await record.entry(for: "theirs:1") == theirs)
        // Pulled because it was missing: the agent's, and it stays the agent's when used as is.
        await record.recordUse(of: "mine:1", .pulled(wasPresent: false), at: start)
        await record.recordUse(of: "docker.io/library/mine:1", .local, at: start + 2 * Self.hour)
        let mine = ImageUsageRecord.Entry(pulledByAgent: true, lastUsed: start + 2 * Self.hour, pulledAt: start)
        #expect(await record.entry(for: "mine:1") == mine)
        await record.pin(only: ["mine:1"])
        #expect(await record.entry(for: "mine:1")?.pinned == true)
        await record.pin(only: [])
        #expect(await record.entry(for: "mine:1")?.pinned == false)
        await record.forget(["mine:1"])
        #expect(await record.entry(for: "mine:1") == nil)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// An entry last used `hoursAgo` hours before ``now``.
    static func used(hoursAgo: Double, byAgent: Bool = true, pinned: Bool = false) -> ImageUsageRecord.Entry {
        ImageUsageRecord.Entry(pulledByAgent: byAgent, lastUsed: now - hoursAgo * hour, pinned: pinned)
    }

    @Test(arguments: [
        ("pulled, unused for 25h", ImageUsageRecordTests.used(hoursAgo: 25), [String](), true),
        ("pulled, used 1h ago", ImageUsageRecordTests.used(hoursAgo: 1), [], false),
        ("pulled, unused for exactly the TTL", ImageUsageRecordTests.used(hoursAgo: 24), [], false),
        ("not pulled by the agent", ImageUsageRecordTests.used(hoursAgo: 25, byAgent: false), [], false),
        ("required", ImageUsageRecordTests.used(hoursAgo: 25), ["img:1"], false),
        ("required under another spelling", ImageUsageRecordTests.used(hoursAgo: 25), ["docker.io/library/img:1"], false),
        ("pinned", ImageUsageRecordTests.used(hoursAgo: 25, pinned: true), [], false),
        ("used in the future (clock set back)", ImageUsageRecordTests.used(hoursAgo: -1), [], false),
    ])
    func removableImages(_ situation: String, entry: ImageUsageRecord.Entry, required: [String], removable: Bool) {
        let key = ImageUsageRecord.key("img:1")
        let removed = ImageUsageRecord.removable([key: entry], olderThan: .seconds(24 * 3600), now: Self.now, required: required)
        #expect(removed == (removable ? [key] : []), "\(situation)")
    }
}

/// Pulls per `docker.cache_usage` and the TTL purge against the real engine (no registry needed:
/// unreachable references point at loopback port 1, where nothing listens).
@Suite("Docker image cache on the real engine", .dockerEngine)
struct DockerImageCacheTests {
    static let ttl: Duration = .seconds(24 * 3600)

    @Test func imagesTheAgentPulledAndNothingUsedPastTheTTLAreRemoved() async throws {
        try await DockerFixtures.withImageCleanup { client, cleanup in
            let repository = "ergon-test/cache-ttl-\(DockerFixtures.shortID())"
            let (old, recent, required, inUse, notOurs) = (
                "\(repository):old", "\(repository):recent", "\(repository):required", "\(repository):in-use", "\(repository):not-ours"
            )
            for name in [old, recent, required, inUse, notOurs] {
                try await DockerFixtures.makeUniqueImage(name, client: client)
                cleanup.add(images: name)
            }
            let path = try DockerFixtures.temporaryDirectory() + "/images.json"
            let record = ImageUsageRecord(path: path)
            let now = Date()
            for name in [old, required, inUse] {
                await record.recordUse(of: name, .pulled(wasPresent: false), at: now - 25 * 3600)
            }
            await record.recordUse(of: recent, .pulled(wasPresent: false), at: now - 3600)
            await record.recordUse(of: notOurs, .local, at: now - 25 * 3600)
            // A container in any state keeps its image: this one was created and never started.
            let container = try await client.createContainer(
                DockerAPI.ContainerCreate(
                    image: inUse, cmd: ["true"], entrypoint: nil, env: [], workingDir: nil, labels: ["ergon.test": "image-cache"],
                    hostConfig: .init(binds: [], mounts: [], networkMode: "none", deviceRequests: nil)))
            cleanup.add(container: container)
            let cache = DockerImageCache(client: client, settings: DockerFixtures.settings(), record: record)

            let removed = try await cache.purgeUnused(olderThan: Self.ttl, now: now, required: [required])

            #expect(removed == [ImageUsageRecord.key(old)])
            #expect(try await !client.imageExists(old))
            for kept in [recent, required, inUse, notOurs] {
                #expect(try await client.imageExists(kept), "\(kept)")
            }
            let reread = ImageUsageRecord(path: path)
            #expect(await reread.entry(for: old) == nil)
            #expect(Set(await reread.entries().keys) == Set([recent, required, inUse, notOurs].map(ImageUsageRecord.key)))
            // Once its container is gone, the in-use image goes at the next purge; the rest stays.
            try await client.removeContainer(container)
            #expect(try await cache.purgeUnused(olderThan: Self.ttl, now: now, required: [required]) == [ImageUsageRecord.key(inUse)])
            #expect(try await !client.imageExists(inUse))
            #expect(try await cache.purgeUnused(olderThan: Self.ttl, now: now, required: [required]).isEmpty)
        }
    }

    @Test func anImageAlreadyGoneFromTheEngineIsForgotten() async throws {
        try await DockerFixtures.withImageCleanup { client, _ in
            let record = ImageUsageRecord(path: nil)
            let gone = "ergon-test/cache-gone-\(DockerFixtures.shortID()):1"
            await record.recordUse(of: gone, .pulled(wasPresent: false), at: Date() - 25 * 3600)
            let cache = DockerImageCache(client: client, settings: DockerFixtures.settings(), record: record)
            let removed = try await cache.purgeUnused(olderThan: Self.ttl, now: Date(), required: [])
            #expect(removed.isEmpty)
            #expect(await record.entries().isEmpty)
        }
    }

    @Test func requirePullFailsWhenThePullFailsEvenWithALocalCopy() async throws {
        try await DockerFixtures.withUnreachableLocalImage { image, client in
            let record = ImageUsageRecord(path: nil)
            try await DockerFixtures.withBackend(settings: DockerFixtures.settings(cacheUsage: .requirePull), imageRecord: record) {
                backend, agent in
                let request = try DockerFixtures.request(TaskSpec(slug: "pull", image: image, command: .exec(["true"])), agentID: agent)
                let error = try await #require(throws: BackendError.self) {
                    _ = try await backend.launch(request) { _ in Issue.record("nothing should be recorded") }
                }
                #expect(error.kind == .imageUnavailable)
                #expect(error.message.hasPrefix("\(image): "))
                #expect(error.message.contains("docker.cache_usage is require_pull"))
                #expect(try await backend.list().isEmpty)
            }
            #expect(try await client.imageExists(image))
            #expect(await record.entry(for: image) == nil)
        }
    }

    @Test func cacheFirstLaunchesFromTheLocalCopyWithoutPulling() async throws {
        try await DockerFixtures.withUnreachableLocalImage { image, _ in
            let record = ImageUsageRecord(path: nil)
            let before = Date() - 1
            try await DockerFixtures.withBackend(settings: DockerFixtures.settings(cacheUsage: .cacheFirst), imageRecord: record) {
                backend, agent in
                // A pull of this reference would fail: the launch succeeding shows none was tried.
                let request = try DockerFixtures.request(TaskSpec(slug: "local", image: image, command: .exec(["true"])), agentID: agent)
                let id = try await backend.launch(request) { _ in }.id
                #expect(try await DockerFixtures.waitForEnd(of: id, backend: backend) == .exited(code: 0))
            }
            let entry = try #require(await record.entry(for: image))
            #expect(entry.pulledByAgent == false)
            #expect(entry.pulledAt == nil)
            #expect(entry.lastUsed >= before)
        }
    }

    @Test func remoteFirstFallsBackToTheLocalCopyWithAWarning() async throws {
        try await DockerFixtures.withUnreachableLocalImage { image, _ in
            let record = ImageUsageRecord(path: nil)
            let log = LogCapture()
            try await DockerFixtures.withBackend(
                settings: DockerFixtures.settings(cacheUsage: .remoteFirst), imageRecord: record, logger: log.logger()
            ) { backend, agent in
                let request = try DockerFixtures.request(TaskSpec(slug: "fallback", image: image, command: .exec(["true"])), agentID: agent)
                let id = try await backend.launch(request) { _ in }.id
                #expect(try await DockerFixtures.waitForEnd(of: id, backend: backend) == .exited(code: 0))
            }
            #expect(log.lines.contains { $0.hasPrefix("warning pull failed; using the engine's copy") && $0.contains(image) })
            let entry = try #require(await record.entry(for: image))
            #expect(entry.pulledByAgent == false)
            #expect(entry.pulledAt == nil)
        }
    }

    @Test func remoteFirstWithoutALocalCopyFails() async throws {
        let image = "127.0.0.1:1/ergon-test/none-\(DockerFixtures.shortID()):latest"
        try await DockerFixtures.withBackend(settings: DockerFixtures.settings(cacheUsage: .remoteFirst)) { backend, agent in
            let request = try DockerFixtures.request(TaskSpec(slug: "none", image: image, command: .exec(["true"])), agentID: agent)
            let error = try await #require(throws: BackendError.self) { _ = try await backend.launch(request) { _ in } }
            #expect(error.kind == .imageUnavailable)
            #expect(error.message.hasPrefix("\(image): "))
        }
    }
}

/// Pre-pulls and pull policies against the local registry `Scripts/lib/registry.sh` starts.
@Suite("Docker image cache with the local registry", .dockerEngine, .imageCacheRegistry)
struct DockerImageCacheRegistryTests {
    static let ttl: Duration = .seconds(24 * 3600)

    @Test func prepullPullsARequiredImageAndPinsIt() async throws {
        try await DockerFixtures.withImageCleanup { client, cleanup in
            let image = "\(ImageCacheRegistry.address)/ergon-test/cache:prepull-\(DockerFixtures.shortID())"
            cleanup.add(images: image)
            try await DockerFixtures.makeUniqueImage(image, client: client)
            try await DockerFixtures.push(image, client: client)
            cleanup.add(pushed: image)
            try await client.removeImage(image)
            #expect(try await !client.imageExists(image))
            let unreachable = "127.0.0.1:1/ergon-test/none-\(DockerFixtures.shortID()):1"
            let record = ImageUsageRecord(path: try DockerFixtures.temporaryDirectory() + "/images.json")
            let cache = DockerImageCache(client: client, settings: DockerFixtures.settings(), record: record)

            let results = await cache.prepull(required: [image, unreachable])

            #expect(results.map(\.image) == [image, unreachable])
            #expect(results[0].error == nil)
            #expect((results[1].error as? BackendError)?.kind == .imageUnavailable)
            #expect(try await client.imageExists(image))
            let entry = try #require(await record.entry(for: image))
            #expect(entry.pinned && entry.pulledByAgent && entry.pulledAt != nil)
            // Pinned: kept past the TTL even when the caller's required list does not name it.
            let later = Date() + 25 * 3600
            #expect(try await cache.purgeUnused(olderThan: Self.ttl, now: later, required: []).isEmpty)
            #expect(try await client.imageExists(image))
            // No longer required at the next start: unpinned, so it goes like any pulled image.
            #expect(await cache.prepull(required: []).isEmpty)
            #expect(await record.entry(for: image)?.pinned == false)
            #expect(try await cache.purgeUnused(olderThan: Self.ttl, now: later, required: []) == [ImageUsageRecord.key(image)])
            #expect(try await !client.imageExists(image))
        }
    }

    /// The registry holds image A under a name the engine has as image B: the mode decides which runs.
    @Test(arguments: [ErgonConfig.CacheUsage.cacheFirst, .remoteFirst, .requirePull])
    func thePullPolicyDecidesWhichCopyALaunchUses(_ usage: ErgonConfig.CacheUsage) async throws {
        try await DockerFixtures.withImageCleanup { client, cleanup in
            let id = DockerFixtures.shortID()
            let image = "\(ImageCacheRegistry.address)/ergon-test/cache:policy-\(id)"
            let local = "ergon-test/cache-policy-local-\(id):1"
            cleanup.add(images: image, local)
            try await DockerFixtures.makeUniqueImage(image, client: client)
            let remoteID = try #require(try await DockerFixtures.imageID(image, client: client))
            cleanup.add(images: remoteID)
            try await DockerFixtures.push(image, client: client)
            cleanup.add(pushed: image)
            try await DockerFixtures.makeUniqueImage(local, client: client)
            let localID = try #require(try await DockerFixtures.imageID(local, client: client))
            try await DockerFixtures.tag(local, as: image, client: client)
            #expect(try await DockerFixtures.imageID(image, client: client) == localID)
            let record = ImageUsageRecord(path: nil)
            try await DockerFixtures.withBackend(settings: DockerFixtures.settings(cacheUsage: usage), imageRecord: record) { backend, agent in
                let request = try DockerFixtures.request(TaskSpec(slug: "policy", image: image, command: .exec(["true"])), agentID: agent)
                let container = try await backend.launch(request) { _ in }.id
                #expect(try await DockerFixtures.waitForEnd(of: container, backend: backend) == .exited(code: 0))
            }
            let expected = usage == .cacheFirst ? localID : remoteID
            #expect(try await DockerFixtures.imageID(image, client: client) == expected)
            let entry = try #require(await record.entry(for: image))
            // The engine had a copy of that name before: whatever was pulled, the image is not the agent's.
            #expect(entry.pulledByAgent == false)
            #expect((entry.pulledAt != nil) == (usage != .cacheFirst))
        }
    }

    @Test func cacheFirstPullsAMissingImageAndRecordsItAsTheAgents() async throws {
        try await DockerFixtures.withImageCleanup { client, cleanup in
            let image = "\(ImageCacheRegistry.address)/ergon-test/cache:missing-\(DockerFixtures.shortID())"
            cleanup.add(images: image)
            try await DockerFixtures.makeUniqueImage(image, client: client)
            try await DockerFixtures.push(image, client: client)
            cleanup.add(pushed: image)
            try await client.removeImage(image)
            let record = ImageUsageRecord(path: nil)
            try await DockerFixtures.withBackend(imageRecord: record) { backend, agent in
                let request = try DockerFixtures.request(TaskSpec(slug: "pulled", image: image, command: .exec(["true"])), agentID: agent)
                let container = try await backend.launch(request) { _ in }.id
                #expect(try await DockerFixtures.waitForEnd(of: container, backend: backend) == .exited(code: 0))
            }
            let entry = try #require(await record.entry(for: image))
            #expect(entry.pulledByAgent)
            #expect(entry.pulledAt == entry.lastUsed)
        }
    }
}

// MARK: - Fixtures

/// What a test made on the engine, removed when it ends.
final class EngineLeftovers: Sendable {
    private let state = Mutex<(images: [String], containers: [String], pushed: [String])>(([], [], []))

    var images: [String] { state.withLock { $0.images } }
    var containers: [String] { state.withLock { $0.containers } }
    /// Images pushed to the local registry, whose manifests are deleted there.
    var pushed: [String] { state.withLock { $0.pushed } }

    func add(images: String...) { state.withLock { $0.images += images } }
    func add(container: String) { state.withLock { $0.containers.append(container) } }
    func add(pushed image: String) { state.withLock { $0.pushed.append(image) } }
}

extension DockerFixtures {
    /// A short unique suffix for image names.
    static func shortID() -> String {
        String(UUID().uuidString.lowercased().prefix(12))
    }

    static func settings(cacheUsage: ErgonConfig.CacheUsage) -> ErgonConfig.Docker {
        var docker = settings()
        docker.cacheUsage = cacheUsage
        return docker
    }

    /// Lends a client on the test engine; removes the containers, then the images, listed in the
    /// leftovers when `body` ends, whether it throws or not.
    static func withImageCleanup(_ body: (DockerEngineClient, EngineLeftovers) async throws -> Void) async throws {
        try await DockerEngineClient.withClient(socketPath: DockerTestEngine.socketPath) { client in
            let leftovers = EngineLeftovers()
            let outcome: Result<Void, any Error>
            do {
                try await body(client, leftovers)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            for container in leftovers.containers {
                _ = try? await client.removeContainer(container)
            }
            for image in leftovers.images {
                _ = try? await client.send(.DELETE, "/images/\(DockerEngineClient.pathComponent(image))", query: [("force", "1")])
            }
            for image in leftovers.pushed {
                await ImageCacheRegistry.deleteManifest(of: image)
            }
            try outcome.get()
        }
    }

    /// The test image tagged as `127.0.0.1:1/ergon-test/none-<unique>:latest`: the engine has it,
    /// and any pull of it fails (nothing listens on loopback port 1).
    static func withUnreachableLocalImage(_ body: (String, DockerEngineClient) async throws -> Void) async throws {
        try await withImageCleanup { client, leftovers in
            let image = "127.0.0.1:1/ergon-test/none-\(shortID()):latest"
            try await tag(DockerTestEngine.image, as: image, client: client)
            leftovers.add(images: image)
            try await body(image, client)
        }
    }

    /// Makes an image of the test image's files with an id of its own (a commit with a unique
    /// label), named `name`: removing it never touches another test's images.
    static func makeUniqueImage(_ name: String, client: DockerEngineClient) async throws {
        let (repository, tag) = split(name)
        let body = DockerAPI.ContainerCreate(
            image: DockerTestEngine.image, cmd: ["true"], entrypoint: nil, env: [], workingDir: nil,
            labels: ["ergon.test": "image-cache"],
            hostConfig: .init(binds: [], mounts: [], networkMode: "none", deviceRequests: nil))
        let container = try await client.createContainer(body)
        let committed: Result<Void, any Error>
        do {
            let response = try await client.send(
                .POST, "/commit",
                query: [("container", container), ("repo", repository), ("tag", tag), ("changes", "LABEL ergon.test.unique=\(UUID())")])
            try response.expect(201, 200)
            committed = .success(())
        } catch {
            committed = .failure(error)
        }
        try await client.removeContainer(container)
        try committed.get()
    }

    /// `POST /images/{source}/tag`: names `source`'s image `target` too.
    static func tag(_ source: String, as target: String, client: DockerEngineClient) async throws {
        let (repository, tag) = split(target)
        let response = try await client.send(
            .POST, "/images/\(DockerEngineClient.pathComponent(source))/tag", query: [("repo", repository), ("tag", tag)])
        try response.expect(201, 200)
    }

    /// The engine's id of `image`, nil when it has none.
    static func imageID(_ image: String, client: DockerEngineClient) async throws -> String? {
        struct Inspect: Decodable {
            var id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        let response = try await client.send(.GET, "/images/\(DockerEngineClient.pathComponent(image))/json")
        if response.status == 404 { return nil }
        try response.expect(200)
        return try response.decode(Inspect.self).id
    }

    /// Pushes `image` to its registry through the engine; failures reported in the progress stream are thrown.
    static func push(_ image: String, client: DockerEngineClient) async throws {
        let (repository, tag) = split(image)
        var lines = JSONLineSplitter()
        var failure: String?
        try await client.stream(
            .POST, "/images/\(DockerEngineClient.pathComponent(repository))/push", query: [("tag", tag)],
            headers: [("X-Registry-Auth", "e30=")], headTimeout: .seconds(120)
        ) { chunk in
            for line in lines.append(chunk.readableBytesView) where failure == nil {
                failure = DockerEngineClient.pullError(in: line)
            }
        }
        for line in lines.finish() where failure == nil {
            failure = DockerEngineClient.pullError(in: line)
        }
        if let failure {
            throw DockerEngineError(code: .status, status: 200, message: failure, request: "push \(image)")
        }
    }

    /// `repo:tag` split at the tag's colon (not a registry port's).
    private static func split(_ name: String) -> (repository: String, tag: String) {
        let nameStart = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        guard let colon = name[nameStart...].lastIndex(of: ":") else { return (name, "latest") }
        return (String(name[..<colon]), String(name[name.index(after: colon)...]))
    }
}

/// The open registry `Scripts/lib/registry.sh` starts on 127.0.0.1:5000 (`ERGON_REGISTRY_ADDR`).
enum ImageCacheRegistry {
    static let environment = ProcessInfo.processInfo.environment
    static let address = environment["ERGON_REGISTRY_ADDR"] ?? "127.0.0.1:5000"
    static let setupHint =
        "start it with `source Scripts/lib/prerequisites.sh && source Scripts/lib/registry.sh && ergon_registry_up`"

    /// The registry is missing while `ERGON_REQUIRE_REGISTRY=1`.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// Deletes `image`'s manifest from the registry (which allows deletes), best effort.
    static func deleteManifest(of image: String) async {
        guard let reference = try? ImageReference(parsing: image), let tag = reference.tag else { return }
        let manifest = "http://\(reference.registry)/v2/\(reference.repository)/manifests/"
        var head = HTTPClientRequest(url: manifest + tag)
        head.method = .HEAD
        head.headers.add(name: "Accept", value: "application/vnd.docker.distribution.manifest.v2+json")
        guard let answer = try? await HTTPClient.shared.execute(head, timeout: .seconds(5)),
            let digest = answer.headers.first(name: "Docker-Content-Digest")
        else { return }
        var delete = HTTPClientRequest(url: manifest + digest)
        delete.method = .DELETE
        _ = try? await HTTPClient.shared.execute(delete, timeout: .seconds(5))
    }

    /// Throws when the registry is unusable and `ERGON_REQUIRE_REGISTRY=1`; true when usable, false to skip.
    static func shouldRun() async throws -> Bool {
        let answer = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(address)/v2/"), timeout: .seconds(3))
        let status = answer.map { Int($0.status.code) }
        guard status != 200 else { return true }
        if environment["ERGON_REQUIRE_REGISTRY"] == "1" {
            throw Unavailable(
                description: "ERGON_REQUIRE_REGISTRY=1 but no open registry answers on http://\(address)/v2/; \(setupHint)")
        }
        return false
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when the local open registry answers; with `ERGON_REQUIRE_REGISTRY=1` its
    /// absence fails the test instead.
    static var imageCacheRegistry: Self {
        .enabled(
            Comment(rawValue: "needs docker-registry on \(ImageCacheRegistry.address): \(ImageCacheRegistry.setupHint); "
                + "set ERGON_REQUIRE_REGISTRY=1 to fail instead")
        ) {
            try await ImageCacheRegistry.shouldRun()
        }
    }
}
