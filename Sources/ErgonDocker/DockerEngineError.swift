import Foundation

/// A failure talking to the Docker engine: the request, what went wrong, and the engine's own message.
public struct DockerEngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreachable, status, malformed, timedOut
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The socket could not be reached (no file, refused, connection lost).
        public static let unreachable = Code(.unreachable)
        /// The engine answered with an error status; `status` and `message` say which.
        public static let status = Code(.status)
        /// The engine answered something that could not be read.
        public static let malformed = Code(.malformed)
        /// The request did not complete within its deadline.
        public static let timedOut = Code(.timedOut)

        public var description: String { base.rawValue }
    }

    /// What kind of failure it is.
    public var code: Code
    /// The HTTP status the engine answered, for `.status` (and for stream errors reported in a 200).
    public var status: Int?
    /// The engine's own message (`{"message": ...}`), or the transport's reason.
    public var message: String
    /// The request, as `METHOD /path`, for messages.
    public var request: String

    /// Creates an error; normally made by the client.
    public init(code: Code, status: Int? = nil, message: String, request: String) {
        self.code = code
        self.status = status
        self.message = message
        self.request = request
    }

    /// True when the engine said the object does not exist.
    public var isNotFound: Bool { code == .status && status == 404 }
    /// True when the engine refused because of a conflict (for example a removal in progress).
    public var isConflict: Bool { code == .status && status == 409 }

    public var description: String {
        switch code {
        case .status: return "\(request): \(status.map { "HTTP \($0): " } ?? "")\(message)"
        default: return "\(request): \(message)"
        }
    }

    /// Reads the engine's `{"message": "..."}` error body; falls back to the raw text.
    static func engineMessage(from body: [UInt8]) -> String {
        struct Payload: Decodable {
            var message: String
        }
        if let payload = try? JSONDecoder().decode(Payload.self, from: Data(body)) {
            return payload.message
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no message" : text
    }
}
