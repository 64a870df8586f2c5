import ErgonCore

extension DockerBackend {
    /// Longest pause between reconnections of the event stream.
    static let maximumEventBackoff: Duration = .seconds(30)

    /// One signal per start, exit (`die`, `oom`) or removal of this agent's containers (those it
    /// adopted from another agent are seen at the next poll instead), read from the
    /// engine's event stream; reconnects with backoff when the stream drops, and signals once after
    /// every (re)connection since events may have been missed meanwhile. Ends when cancelled.
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let filters = [
            "type": ["container"],
            "label": ["\(InstanceLabel.dockerAgentKey)=\(agentID)"],
            "event": ["start", "die", "oom", "destroy"],
        ]
        let client = self.client
        let logger = self.logger
        let feeder = Task {
            var backoff: Duration = .milliseconds(250)
            while !Task.isCancelled {
                do {
                    try await client.followEvents(
                        filters: filters,
                        onConnected: {
                            backoff = .milliseconds(250)
                            continuation.yield()
                        },
                        onEvent: { event in
                            if let id = event.actor?.id, event.action == "die" || event.action == "oom" {
                                await Self.waitUntilListedAsStopped(id, client: client)
                            }
                            continuation.yield()
                        })
                    logger.debug("docker event stream ended; reconnecting")
                } catch is CancellationError {
                    break
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("docker event stream failed; reconnecting", metadata: ["error": "\(error)", "in": "\(backoff)"])
                }
                do {
                    try await Task.sleep(for: backoff)
                } catch {
                    break
                }
                backoff = min(backoff * 2, Self.maximumEventBackoff)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in feeder.cancel() }
        return stream
    }

    /// The engine announces `die` a few milliseconds before its container listing stops saying
    /// `running`; waits (briefly, bounded) for the listing to agree so the tick the signal triggers
    /// sees the exit.
    static func waitUntilListedAsStopped(_ id: String, client: DockerEngineClient) async {
        for _ in 0..<100 {
            guard let listed = try? await client.listContainers(labels: [], ids: [id]),
                let state = listed.first?.state, state == "running"
            else { return }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                return
            }
        }
    }
}
