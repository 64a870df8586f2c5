import Foundation

extension DockerEngineClient {
    /// Follows `GET /events` with `filters` (for example `["type": ["container"], "event": ["die"]]`)
    /// and calls `onEvent` for each message, until the engine closes the stream (returns), the
    /// connection fails (throws) or the task is cancelled (throws `CancellationError`).
    /// `onConnected` runs once the engine has accepted the request.
    public func followEvents(
        filters: [String: [String]],
        onConnected: () async -> Void = {},
        onEvent: (DockerAPI.Event) async throws -> Void
    ) async throws {
        var lines = JSONLineSplitter()
        try await stream(
            .GET, "/events", query: [("filters", try Self.filters(filters))],
            onHead: { await onConnected() }
        ) { chunk in
            for line in lines.append(chunk.readableBytesView) {
                guard let event = try? JSONDecoder().decode(DockerAPI.Event.self, from: Data(line)) else {
                    throw DockerEngineError(
                        code: .malformed, status: 200,
                        message: "unreadable event: \(String(decoding: line.prefix(120), as: UTF8.self))",
                        request: "GET /events")
                }
                try await onEvent(event)
            }
        }
    }
}
