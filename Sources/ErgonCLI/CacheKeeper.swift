import ErgonCache
import ErgonCore
import ErgonDocker
import Foundation
import Logging
import ServiceLifecycle

/// The agent's cache upkeep: at start it fetches `cache.required` (resources, and images in
/// docker mode), then every `cache.check_every` it removes what went unused past
/// `cache.purge_unused_after` and evicts down to `cache.max_size`. What a task uses or the
/// config requires is never removed.
struct CacheKeeper: Service {
    let config: ErgonConfig
    let cache: ResourceCache
    /// Docker mode's image cache; nil in vast mode.
    let images: DockerImageCache?
    let logger: Logger

    /// Ends at once on graceful shutdown: a fetch in progress is cancelled (its partial file is
    /// kept and resumed at the next start).
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await prewarm()
            while !Task.isCancelled {
                await upkeep()
                try await Task.sleep(for: config.cache.checkEvery)
            }
        }
    }

    func prewarm() async {
        for (source, error) in await cache.prewarm() {
            if let error {
                logger.error("required resource \(source) could not be fetched; tasks needing it fetch it themselves: \(error)")
            } else {
                logger.info("required resource \(source) is ready")
            }
        }
        guard let images, !config.cache.requiredImages.isEmpty else { return }
        for (image, error) in await images.prepull(required: config.cache.requiredImages) where error == nil {
            logger.info("required image \(image) is ready")
        }
    }

    func upkeep() async {
        let report = await cache.enforcePolicy()
        if !report.removed.isEmpty || !report.leftovers.isEmpty {
            logger.info("cache upkeep: \(report.removed.count) entr(ies) removed, \(ByteSizeParser.format(report.bytesFreed)) freed")
        }
        guard let images else { return }
        do {
            let removed = try await images.purgeUnused(
                olderThan: config.cache.purgeUnusedAfter, now: Date(), required: config.cache.requiredImages)
            if !removed.isEmpty { logger.info("image upkeep: removed \(removed.joined(separator: ", "))") }
        } catch {
            logger.warning("image upkeep failed; trying again in \(config.cache.checkEvery): \(error)")
        }
    }
}
