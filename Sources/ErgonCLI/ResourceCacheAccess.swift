import AsyncHTTPClient
import ErgonCache
import ErgonCore
import ErgonS3
import Foundation
import Logging

extension ErgonConfig {
    /// Lends the resource cache of `cache` with its fetchers (HTTP and Hugging Face, S3 when the
    /// agent has `s3` credentials), and shuts their HTTP clients down afterwards.
    func withResourceCache<Result: Sendable>(
        logger: Logger = Logger(label: "ergon.cache"), environment: [String: String] = ProcessInfo.processInfo.environment,
        _ body: (ResourceCache) async throws -> Result
    ) async throws -> Result {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPResourceFetcher.httpConfiguration)
        let s3HTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
        let result: Result
        do {
            let s3Fetcher = s3.accessKeyID == nil ? nil : S3ResourceFetcher(client: try s3Client(http: s3HTTP, logger: logger), logger: logger)
            let fetchers = ResourceFetchers(
                http: HTTPResourceFetcher(httpClient: http, environment: environment, logger: logger), s3: s3Fetcher)
            let cache = ResourceCache(
                directory: cacheDirectory, maxSize: self.cache.maxSize, purgeUnusedAfter: self.cache.purgeUnusedAfter,
                // Vast tasks take archives packed (the worker unpacks them): pin what they use.
                pinned: mode == .vast ? self.cache.requiredResources.map { var raw = $0; raw.unpack = false; return raw }
                    : self.cache.requiredResources,
                fetcher: fetchers,
                unpack: { archive, format, folder in try await ArchiveUnpacker.unpack(archive, format: format, into: folder) },
                logger: logger)
            result = try await body(cache)
        } catch {
            try? await http.shutdown()
            try? await s3HTTP.shutdown()
            throw error
        }
        try await http.shutdown()
        try await s3HTTP.shutdown()
        return result
    }
}
