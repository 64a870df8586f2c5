/// Splits the engine's log stream into messages.
///
/// A container without a TTY answers a multiplexed stream: frames of an 8-byte header (stream
/// byte 0/1/2, three zero bytes, big-endian UInt32 payload size) and the payload; the engine writes
/// one frame per log message. A TTY container answers the raw bytes, which are split at newlines.
public struct DockerLogDemuxer: Sendable {
    /// How the stream is framed.
    public enum Mode: Sendable {
        /// 8-byte headers (containers without a TTY).
        case multiplexed
        /// Plain bytes (TTY containers).
        case raw
    }

    /// Which output a message came from.
    public enum Stream: UInt8, Sendable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    /// One message of the stream.
    public struct Frame: Equatable, Sendable {
        /// Its stream; TTY output has no separate streams and is reported as stdout.
        public var stream: Stream
        /// Its bytes.
        public var payload: [UInt8]

        /// A frame.
        public init(stream: Stream, payload: [UInt8]) {
            self.stream = stream
            self.payload = payload
        }
    }

    /// The stream broke the framing rules.
    public struct MalformedStream: Error, Equatable, Sendable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        public var description: String { "malformed log stream: \(reason)" }
    }

    /// The framing in use.
    public let mode: Mode
    private var pending: [UInt8] = []

    /// A demuxer for `mode`.
    public init(mode: Mode) {
        self.mode = mode
    }

    /// The mode a log answer uses: its content type when the engine names one (API ≥ 1.42),
    /// else the first byte (a multiplexed stream starts with a stream byte 0–2, and no text does).
    public static func mode(contentType: String?, firstByte: UInt8?) -> Mode {
        switch contentType?.lowercased() {
        case "application/vnd.docker.multiplexed-stream": return .multiplexed
        case "application/vnd.docker.raw-stream": return .raw
        default: return (firstByte.map { $0 <= 2 } ?? true) ? .multiplexed : .raw
        }
    }

    /// Adds bytes and returns the messages they complete.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) throws -> [Frame] where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        switch mode {
        case .multiplexed: return try takeFrames()
        case .raw: return takeLines()
        }
    }

    /// Ends the stream: a raw stream's last line without a newline is returned; a multiplexed stream
    /// cut inside a frame throws.
    public mutating func finish() throws -> [Frame] {
        defer { pending.removeAll() }
        guard !pending.isEmpty else { return [] }
        switch mode {
        case .multiplexed:
            throw MalformedStream(reason: "the stream ends inside a frame (\(pending.count) bytes left over)")
        case .raw:
            return [Frame(stream: .stdout, payload: pending)]
        }
    }

    private mutating func takeFrames() throws -> [Frame] {
        var frames: [Frame] = []
        var offset = 0
        while pending.count - offset >= 8 {
            let header = pending[offset..<(offset + 8)]
            guard let stream = Stream(rawValue: header[offset]),
                header[offset + 1] == 0, header[offset + 2] == 0, header[offset + 3] == 0
            else {
                throw MalformedStream(reason: "bad frame header \(header.map { String($0, radix: 16) })")
            }
            let size = header[(offset + 4)..<(offset + 8)].reduce(0) { ($0 << 8) | Int($1) }
            guard pending.count - offset - 8 >= size else { break }
            let start = offset + 8
            frames.append(Frame(stream: stream, payload: Array(pending[start..<(start + size)])))
            offset = start + size
        }
        pending.removeFirst(offset)
        return frames
    }

    private mutating func takeLines() -> [Frame] {
        var frames: [Frame] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            frames.append(Frame(stream: .stdout, payload: Array(pending[start...newline])))
            start = newline + 1
        }
        pending.removeFirst(start)
        return frames
    }
}
