import CMallocControl
import ServiceLifecycle

/// Gives the memory the agent freed back to the system, every `interval`.
///
/// glibc's allocator keeps what a thread freed in that thread's arena for later use: a tick
/// over a thousand instances parses their listing and reads their logs on whichever threads
/// the runtime picks, and each arena kept its high-water mark, a fifth of the agent's resident
/// memory. `malloc_trim` hands the free pages back. Elsewhere than glibc this does nothing.
struct MemoryReturner: Service {
    var interval: Duration = .seconds(10)

    /// Fewer arenas, so memory one thread freed serves the others: called first thing in
    /// `ergon agent`, before its event loops, database pool and HTTP clients start threads
    /// (arenas glibc made for the runtime's threads before that stay).
    static func limitArenas() {
        _ = ergon_limit_malloc_arenas(2)
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                _ = ergon_return_free_memory()
            }
        }
    }
}
