import Foundation

extension DockerEngineClient {
    /// Every log message of a container stamped at or after `since` (all when nil), stdout and
    /// stderr in log order (`GET /containers/{id}/logs?timestamps=1`, not following).
    public func containerLogs(
        _ id: String, since: DockerTimestamp?, timeout: Duration = .seconds(120)
    ) async throws -> [DockerLogMessage] {
        var query = [("stdout", "1"), ("stderr", "1"), ("timestamps", "1")]
        if let since {
            query.append(("since", since.apiParameter))
        }
        let path = "/containers/\(Self.pathComponent(id))/logs"
        let response = try await send(.GET, path, query: query, timeout: timeout)
        try response.expect(200)
        let mode = DockerLogDemuxer.mode(
            contentType: response.contentType, firstByte: response.body.first)
        var demuxer = DockerLogDemuxer(mode: mode)
        let frames: [DockerLogDemuxer.Frame]
        do {
            frames = try demuxer.append(response.body) + demuxer.finish()
        } catch {
            throw DockerEngineError(code: .malformed, status: 200, message: "\(error)", request: "GET \(path)")
        }
        return try frames.map { frame in
            guard let message = DockerLogMessage(frame: frame) else {
                throw DockerEngineError(
                    code: .malformed, status: 200,
                    message: "a log message without a timestamp: \(String(decoding: frame.payload.prefix(80), as: UTF8.self))",
                    request: "GET \(path)")
            }
            return message
        }
    }
}
