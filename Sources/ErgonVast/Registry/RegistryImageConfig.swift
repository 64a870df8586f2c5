import AsyncHTTPClient
import ErgonCore
import Logging

/// Reads images' entrypoints, Cmds and working directories from their registries (Docker
/// Registry HTTP API v2), as `docker pull` would find them: the linux/amd64 image of an index,
/// token or Basic authentication with the credentials of `vast_api.registries` (anonymous
/// otherwise), HTTPS except for registries on this machine. Answers are cached in memory.
///
/// The `HTTPClient` must not follow redirects itself (``VastClient/httpConfiguration``): blob
/// storage is reached by following them here, without the registry's `Authorization`.
public struct RegistryImageConfig<C: Clock>: ImageConfigSource where C.Duration == Duration {
    let registries: [ErgonConfig.RegistryAuth]
    let http: HTTPClient
    let requestTimeout: Duration
    let lookupTimeout: Duration
    let clock: C
    let cache: ImageConfigCache<C>
    let logger: Logger

    /// A source reading registries over `httpClient`, which the caller owns and shuts down.
    ///
    /// Each request's answer head must come within `requestTimeout`, a whole lookup (manifests,
    /// token, blob) within `lookupTimeout`; a tag's answer is reused for `tagLifetime`.
    public init(
        registries: [ErgonConfig.RegistryAuth], httpClient: HTTPClient, requestTimeout: Duration = .seconds(15),
        lookupTimeout: Duration = .seconds(45), tagLifetime: Duration = .seconds(600), clock: C,
        logger: Logger = Logger(label: "ergon.vast")
    ) {
        self.registries = registries
        self.http = httpClient
        self.requestTimeout = requestTimeout
        self.lookupTimeout = lookupTimeout
        self.clock = clock
        self.cache = ImageConfigCache(clock: clock, tagLifetime: tagLifetime)
        self.logger = logger
    }

    /// The configuration of `image`, from the cache or its registry. Throws ``RegistryError``.
    public func configuration(of image: String) async throws -> ImageLaunchConfig? {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            throw RegistryError(.badReference, error.message)
        }
        return try await cache.value(for: reference) { try await self.lookUp(reference) }
    }

    /// Reads the configuration of `reference` from its registry, bypassing the cache.
    public func lookUp(_ reference: ImageReference) async throws -> ImageLaunchConfig {
        let credentials = registries.credentials(for: reference)
        let (http, requestTimeout, logger) = (self.http, self.requestTimeout, self.logger)
        logger.debug("reading the image configuration from its registry", metadata: ["image": "\(reference)"])
        return try await withDeadline(reference) {
            var session = RegistrySession(
                http: http, reference: reference, credentials: credentials, requestTimeout: requestTimeout, logger: logger)
            return try await session.launchConfig()
        }
    }

    /// Runs `body`, throwing `.timeout` when it outlasts `lookupTimeout` on the clock.
    private func withDeadline<T: Sendable>(
        _ reference: ImageReference, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let (clock, timeout) = (self.clock, lookupTimeout)
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await clock.sleep(for: timeout)
                throw RegistryError(.timeout, "\(reference): \(reference.registry) did not give the image's configuration within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }
}

extension VastClient {
    /// A registry reader over this client's HTTP client, with the credentials of `registries`.
    public func registryImageConfig(registries: [ErgonConfig.RegistryAuth]) -> RegistryImageConfig<ContinuousClock> {
        RegistryImageConfig(registries: registries, httpClient: http, logger: logger)
    }
}

extension RegistryImageConfig where C == ContinuousClock {
    /// A source on the continuous clock.
    public init(
        registries: [ErgonConfig.RegistryAuth], httpClient: HTTPClient, requestTimeout: Duration = .seconds(15),
        lookupTimeout: Duration = .seconds(45), tagLifetime: Duration = .seconds(600), logger: Logger = Logger(label: "ergon.vast")
    ) {
        self.init(
            registries: registries, httpClient: httpClient, requestTimeout: requestTimeout, lookupTimeout: lookupTimeout,
            tagLifetime: tagLifetime, clock: ContinuousClock(), logger: logger)
    }
}
