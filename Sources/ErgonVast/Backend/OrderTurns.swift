/// Lets one launch of an agent at a time search the market and order, in the order they asked.
///
/// Launches started in the same tick would otherwise read the same search answer and all order
/// its cheapest offer: one gets it, the others lose it (`offer_gone`) and walk down the same
/// list. With 100 launches at once (`Scripts/bench tick 100`), 79 tasks used up
/// `vast_api.max_offers_tried` on each of their attempts and ended in error. One at a time, each
/// search already shows the offers ordered before it as rented: one search and one create per
/// launch. The wait is short next to an instance's loading, and Vast limits searches per minute
/// anyway.
actor OrderTurns {
    private var held = false
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0

    /// Runs `body` once every earlier caller's body has ended. Throws `CancellationError`,
    /// without running it, when the calling task is cancelled while it waits.
    nonisolated func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        await release()
        return try result.get()
    }

    private func acquire() async throws {
        guard held else {
            held = true
            return
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Cancelled before it queued: the handler below found nothing to cancel.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Hands the turn to the first waiter (it stays held), or frees it.
    private func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }
}
