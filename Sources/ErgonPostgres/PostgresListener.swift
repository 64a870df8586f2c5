import ErgonCore
import Logging
import PostgresNIO
import Synchronization

/// The queue's one `LISTEN` connection, feeding every stream `changes()` handed out.
///
/// Started by the first subscriber; it keeps its own connection outside the pool (a pooled
/// connection would go back to the pool still listening). When the connection drops, it
/// reconnects with a backoff of 1 s doubling up to 30 s. Each subscriber gets one element as
/// soon as the listener is listening (at once if it already is) and all of them get one after
/// every reconnection: changes may have gone unheard meanwhile, and an extra wake-up only
/// costs the agent a look at the queue. Bursts of notifications coalesce into one element.
final class PostgresListener: Sendable {
    static let minimumBackoff: Duration = .seconds(1)
    static let maximumBackoff: Duration = .seconds(30)

    private struct State {
        var subscribers: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextID = 0
        var listening = false
        var runner: Task<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    private let location: PostgresLocation
    private let channel: String
    private let logger: Logger

    init(location: PostgresLocation, channel: String, logger: Logger) {
        self.location = location
        self.channel = channel
        self.logger = logger
    }

    /// A stream that yields when the queue may have changed; it ends when its consumer is
    /// cancelled or the listener closes.
    func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { state in
            guard !state.closed else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            if state.listening { continuation.yield() }
            if state.runner == nil { state.runner = Task { await self.run() } }
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Stops listening, ends every stream, and waits for the connection to close.
    func close() async {
        await stop()?.value
    }

    /// Stops listening and ends every stream without waiting; returns the runner to await.
    @discardableResult
    func stop() -> Task<Void, Never>? {
        let (runner, subscribers) = state.withLock { state in
            state.closed = true
            defer {
                state.runner = nil
                state.subscribers = [:]
            }
            return (state.runner, Array(state.subscribers.values))
        }
        runner?.cancel()
        for subscriber in subscribers { subscriber.finish() }
        return runner
    }

    private func run() async {
        var backoff = Self.minimumBackoff
        while !Task.isCancelled {
            do {
                let connection = try await location.connect(logger: logger)
                backoff = Self.minimumBackoff
                do {
                    try await connection.listen(on: channel) { notifications in
                        setListening(true)
                        for try await _ in notifications { yieldToAll() }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning(
                            "the queue's notification connection dropped; reconnecting",
                            metadata: ["reason": "\(PostgresErrorText.reason(error))"])
                    }
                }
                setListening(false)
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "cannot listen for queue changes; retrying",
                    metadata: ["reason": "\(error)", "retry_in": "\(backoff)"])
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, Self.maximumBackoff)
        }
        setListening(false)
    }

    private func setListening(_ listening: Bool) {
        state.withLock { state in
            state.listening = listening
            if listening { for subscriber in state.subscribers.values { subscriber.yield() } }
        }
    }

    private func yieldToAll() {
        state.withLock { state in
            for subscriber in state.subscribers.values { subscriber.yield() }
        }
    }
}
