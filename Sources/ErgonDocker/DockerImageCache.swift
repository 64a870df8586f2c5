import ErgonCore
import Foundation
import Logging

/// The engine's images as the agent manages them, under the rules of cached resources: every
/// launch gets its image as `docker.cache_usage` says and records the use; required images are
/// pre-pulled and pinned; images the agent pulled and nothing used for longer than the TTL are
/// removed. Images the agent did not pull are never removed.
public struct DockerImageCache: Sendable {
    /// The engine client.
    public let client: DockerEngineClient
    /// Docker mode's settings (`cache_usage`, `registries`, `socket` for messages).
    public let settings: ErgonConfig.Docker
    /// When each image was last used and whether the agent pulled it.
    public let record: ImageUsageRecord
    let logger: Logger
    /// The time a use is recorded at.
    let now: @Sendable () -> Date

    /// A cache over `client`; `now` stamps recorded uses.
    public init(
        client: DockerEngineClient, settings: ErgonConfig.Docker, record: ImageUsageRecord,
        logger: Logger = Logger(label: "ergon.docker"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = client
        self.settings = settings
        self.record = record
        self.logger = logger
        self.now = now
    }

    /// Makes the engine hold `image` as `settings.cacheUsage` says, and records the use:
    /// - `cache_first`: the engine's copy when it has one, else a pull;
    /// - `remote_first`: a pull, falling back (with a warning) to the engine's copy when it fails;
    /// - `require_pull`: a pull; when it fails, so does the launch.
    ///
    /// A pull that fails throws `BackendError(.imageUnavailable)` with the engine's words.
    public func ensure(_ image: String) async throws {
        switch settings.cacheUsage {
        case .cacheFirst:
            if try await isPresent(image) {
                await record.recordUse(of: image, .local, at: now())
                return
            }
            try await pull(image)
            await record.recordUse(of: image, .pulled(wasPresent: false), at: now())
        case .remoteFirst:
            let wasPresent = try await isPresent(image)
            do {
                try await pull(image)
            } catch let error as BackendError where wasPresent {
                logger.warning(
                    "pull failed; using the engine's copy (docker.cache_usage: remote_first)",
                    metadata: ["image": "\(image)", "error": "\(error.message)"])
                await record.recordUse(of: image, .local, at: now())
                return
            }
            await record.recordUse(of: image, .pulled(wasPresent: wasPresent), at: now())
        case .requirePull:
            let wasPresent = try await isPresent(image)
            do {
                try await pull(image)
            } catch let error as BackendError where wasPresent && error.kind == .imageUnavailable {
                throw BackendError(
                    .imageUnavailable,
                    error.message + " (docker.cache_usage is require_pull, so the engine's copy is not used; "
                        + "remote_first would fall back to it)")
            }
            await record.recordUse(of: image, .pulled(wasPresent: wasPresent), at: now())
        }
    }

    /// Gets each of `required` as a launch would (``ensure(_:)``) and pins them, unpinning images
    /// no longer required. Never throws: each image's failure is logged and returned beside it.
    public func prepull(required: [String]) async -> [(image: String, error: (any Error)?)] {
        var results: [(image: String, error: (any Error)?)] = []
        for image in required {
            do {
                try await ensure(image)
                results.append((image, nil))
            } catch {
                logger.error(
                    "cannot pre-pull a required image (cache.required.images)", metadata: ["image": "\(image)", "error": "\(error)"])
                results.append((image, error))
            }
        }
        await record.pin(only: required)
        return results
    }

    /// Removes (`DELETE /images/{name}`, without force) the images the agent pulled that no launch
    /// used for longer than `ttl` before `now`, that are not `required` (nor pinned), and that no
    /// container uses in any state; forgets them in the record and returns them (in the record's
    /// spelling, ``ImageUsageRecord/key(_:)``). The engine says which containers use an image by
    /// its id, so a container of another name for the same image keeps it too. An image the engine
    /// refuses to remove because it is in use is kept, with a log line; other refusals are logged
    /// too. Images no longer on the engine are forgotten. Throws only when the engine cannot be
    /// reached or answers oddly.
    public func purgeUnused(olderThan ttl: Duration, now: Date, required: [String]) async throws -> [String] {
        var removed: [String] = []
        for image in await record.removable(olderThan: ttl, now: now, required: required) {
            do {
                guard try await client.imageExists(image) else {
                    logger.debug("a recorded image is no longer on the engine", metadata: ["image": "\(image)"])
                    await record.forget([image])
                    continue
                }
                let users = try await client.containers(usingImage: image)
                if !users.isEmpty {
                    logger.info(
                        "keeping an unused image: containers still use it",
                        metadata: ["image": "\(image)", "containers": "\(users.map { String($0.id.prefix(12)) })"])
                    continue
                }
                // A launch may have used it while the containers were listed.
                guard await record.removable(olderThan: ttl, now: now, required: required).contains(image) else { continue }
                if try await client.removeImage(image) {
                    logger.info("removed an image unused for longer than cache.purge_unused_after", metadata: ["image": "\(image)"])
                    removed.append(image)
                } else {
                    logger.debug("a recorded image is no longer on the engine", metadata: ["image": "\(image)"])
                }
                await record.forget([image])
            } catch let error as DockerEngineError where error.isConflict {
                logger.info(
                    "keeping an unused image the engine says is in use", metadata: ["image": "\(image)", "engine": "\(error.message)"])
            } catch let error as DockerEngineError where error.code == .status {
                logger.warning("the engine refused to remove an unused image", metadata: ["image": "\(image)", "error": "\(error)"])
            } catch {
                throw DockerBackend.backendError(error, doing: "remove image \(image)", socket: settings.socket)
            }
        }
        return removed
    }

    /// True when the engine has `image`.
    func isPresent(_ image: String) async throws -> Bool {
        do {
            return try await client.imageExists(image)
        } catch {
            throw DockerBackend.backendError(error, doing: "inspect image \(image)", socket: settings.socket)
        }
    }

    /// Pulls `image` with the registry's credentials when configured. The engine's refusals become
    /// `.imageUnavailable` with its message.
    func pull(_ image: String) async throws {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            throw BackendError(.imageUnavailable, error.message)
        }
        let credentials = settings.registries.first { reference.isServed(by: $0.host) }
        do {
            logger.info("pulling image", metadata: ["image": "\(image)", "auth": "\(credentials != nil)"])
            try await client.pullImage(image, credentials: credentials)
            guard try await client.imageExists(image) else {
                throw BackendError(.imageUnavailable, "\(image): the engine finished the pull but does not have the image")
            }
        } catch let error as DockerEngineError where error.code == .status {
            throw BackendError(.imageUnavailable, "\(image): \(error.message)")
        } catch {
            throw DockerBackend.backendError(error, doing: "pull image \(image)", socket: settings.socket)
        }
    }
}
