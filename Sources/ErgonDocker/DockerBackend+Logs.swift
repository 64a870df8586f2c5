import ErgonCore

extension DockerBackend {
    /// The output written since `cursor` (see ``DockerLogCursor``), stdout and stderr merged in order.
    public func readLogs(instanceID: String, cursor: String?) async throws -> LogRead {
        let position: DockerLogCursor
        if let cursor {
            guard let decoded = DockerLogCursor(encoded: cursor) else {
                throw BackendError(.malformed, "container \(instanceID): unreadable log cursor \"\(cursor)\"")
            }
            position = decoded
        } else {
            position = .start
        }
        let messages: [DockerLogMessage]
        do {
            messages = try await client.containerLogs(instanceID, since: position.since)
        } catch let error as DockerEngineError where error.isNotFound {
            throw BackendError(.refused, "container \(instanceID) does not exist: \(error.message)")
        } catch {
            throw backendError(error, doing: "read the logs of container \(instanceID)")
        }
        let (bytes, next) = position.advance(over: messages)
        return LogRead(bytes: bytes, cursor: next.encoded)
    }
}
