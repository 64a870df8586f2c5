/// One message of a container's log, read with `timestamps=1`.
public struct DockerLogMessage: Equatable, Sendable {
    /// When the engine received it.
    public var timestamp: DockerTimestamp
    /// Its stream.
    public var stream: DockerLogDemuxer.Stream
    /// Its bytes, without the timestamp (a complete line ends with `\n`; a partial one does not).
    public var payload: [UInt8]

    /// A message.
    public init(timestamp: DockerTimestamp, stream: DockerLogDemuxer.Stream, payload: [UInt8]) {
        self.timestamp = timestamp
        self.stream = stream
        self.payload = payload
    }

    /// Splits a frame's `TIMESTAMP SP BYTES`; nil when it does not start with a timestamp.
    public init?(frame: DockerLogDemuxer.Frame) {
        guard let space = frame.payload.firstIndex(of: UInt8(ascii: " ")),
            let timestamp = DockerTimestamp(rfc3339: frame.payload[..<space])
        else { return nil }
        self.init(timestamp: timestamp, stream: frame.stream, payload: Array(frame.payload[(space + 1)...]))
    }
}
