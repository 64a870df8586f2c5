import ErgonCore

/// Image configurations already read, per reference, so a workflow of many tasks on one image
/// asks its registry once. Concurrent lookups of one reference share a single request; a failed
/// lookup is not kept. A tag may be pushed again, so its answer expires after `tagLifetime`;
/// a digest's never does.
actor ImageConfigCache<C: Clock> where C.Duration == Duration {
    private enum Entry {
        case loading(id: Int, Task<ImageLaunchConfig, any Error>)
        case loaded(ImageLaunchConfig, expires: C.Instant?)
    }

    let clock: C
    let tagLifetime: Duration
    private var entries: [ImageReference: Entry] = [:]
    private var nextID = 0

    init(clock: C, tagLifetime: Duration) {
        self.clock = clock
        self.tagLifetime = tagLifetime
    }

    /// The configuration of `reference`, from the cache or from `load`.
    ///
    /// A caller cancelled while a shared lookup runs still waits for it; the lookup has its own deadline.
    func value(
        for reference: ImageReference, load: @escaping @Sendable () async throws -> ImageLaunchConfig
    ) async throws -> ImageLaunchConfig {
        switch entries[reference] {
        case .loaded(let value, let expires) where expires.map({ clock.now < $0 }) ?? true:
            return value
        case .loading(_, let task):
            return try await task.value
        default:
            break
        }
        nextID += 1
        let id = nextID
        let task = Task { try await load() }
        entries[reference] = .loading(id: id, task)
        do {
            let value = try await task.value
            entries[reference] = .loaded(value, expires: reference.digest == nil ? clock.now.advanced(by: tagLifetime) : nil)
            return value
        } catch {
            if case .loading(id, _)? = entries[reference] { entries[reference] = nil }
            throw error
        }
    }
}
