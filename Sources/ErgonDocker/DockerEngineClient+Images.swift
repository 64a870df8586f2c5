import ErgonCore
import Foundation

extension ErgonConfig.RegistryAuth {
    /// The `X-Registry-Auth` header value: base64url (padded) of `{"username","password","serveraddress"}`.
    public var dockerHeaderValue: String {
        struct Payload: Encodable {
            var username: String
            var password: String
            var serveraddress: String
        }
        let payload = Payload(username: username, password: password, serveraddress: host)
        let json = (try? DockerEngineClient.encode(payload)) ?? []
        return Data(json).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
    }
}

extension DockerEngineClient {
    /// True when the engine has the image locally (`GET /images/{name}/json`).
    public func imageExists(_ reference: String) async throws -> Bool {
        let response = try await send(.GET, "/images/\(Self.pathComponent(reference))/json")
        if response.status == 404 { return false }
        try response.expect(200)
        return true
    }

    /// Pulls an image (`POST /images/create`). The engine answers 200 and reports a failure as an
    /// `{"error": ...}` line in its progress stream; that line is thrown as the engine's message.
    public func pullImage(_ reference: String, credentials: ErgonConfig.RegistryAuth? = nil) async throws {
        let image = try ImageReference(parsing: reference)
        var headers: [(String, String)] = []
        if let credentials {
            headers.append(("X-Registry-Auth", credentials.dockerHeaderValue))
        }
        let label = "POST /images/create"
        var lines = JSONLineSplitter()
        var failure: String?
        try await stream(
            .POST, "/images/create", query: [("fromImage", image.fromImage), ("tag", image.pullTag)],
            headers: headers, headTimeout: .seconds(300)
        ) { chunk in
            for line in lines.append(chunk.readableBytesView) where failure == nil {
                failure = Self.pullError(in: line)
            }
        }
        for line in lines.finish() where failure == nil {
            failure = Self.pullError(in: line)
        }
        if let failure {
            throw DockerEngineError(code: .status, status: 200, message: failure, request: label)
        }
    }

    /// `DELETE /images/{name}` without force: untags the name, and deletes the image when no other
    /// name refers to it. Returns false when the engine has no such image. Throws a 409
    /// (`isConflict`) when this is the image's last name and a container, in any state, uses it.
    @discardableResult
    public func removeImage(_ reference: String) async throws -> Bool {
        let response = try await send(.DELETE, "/images/\(Self.pathComponent(reference))")
        if response.status == 404 { return false }
        try response.expect(200)
        return true
    }

    /// The containers, in any state, created from `reference` or from an image built on it
    /// (`GET /containers/json?all=1` with an `ancestor` filter). The engine matches by image id,
    /// so containers of another name for the same image count too. Empty when the engine does not
    /// have the image.
    public func containers(usingImage reference: String) async throws -> [DockerAPI.ContainerSummary] {
        let query = [("all", "1"), ("filters", try Self.filters(["ancestor": [reference]]))]
        let response = try await send(.GET, "/containers/json", query: query)
        try response.expect(200)
        return try response.decode([DockerAPI.ContainerSummary].self)
    }

    /// The error a pull progress line reports, if it reports one.
    static func pullError(in line: [UInt8]) -> String? {
        struct Progress: Decodable {
            struct Detail: Decodable { var message: String? }
            var error: String?
            var errorDetail: Detail?
        }
        guard let progress = try? JSONDecoder().decode(Progress.self, from: Data(line)) else { return nil }
        return progress.errorDetail?.message ?? progress.error
    }
}

/// Splits a byte stream of newline-separated JSON messages into whole lines.
struct JSONLineSplitter: Sendable {
    private var pending: [UInt8] = []

    /// Adds bytes and returns the complete, non-blank lines they finish.
    mutating func append<Bytes: Sequence>(_ bytes: Bytes) -> [[UInt8]] where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        var lines: [[UInt8]] = []
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[start..<newline])
            if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) {
                lines.append(line)
            }
            start = pending.index(after: newline)
        }
        pending.removeSubrange(pending.startIndex..<start)
        return lines
    }

    /// The last line when the stream ended without a newline.
    mutating func finish() -> [[UInt8]] {
        defer { pending.removeAll() }
        return pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) ? [pending] : []
    }
}
