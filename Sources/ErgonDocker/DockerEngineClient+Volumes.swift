import Foundation

extension DockerEngineClient {
    /// `POST /volumes/create`; creating a volume that exists is not an error (the engine returns it).
    public func createVolume(name: String, labels: [String: String]) async throws {
        struct Body: Encodable {
            var name: String
            var labels: [String: String]
            enum CodingKeys: String, CodingKey {
                case name = "Name"
                case labels = "Labels"
            }
        }
        let response = try await send(.POST, "/volumes/create", body: try Self.encode(Body(name: name, labels: labels)))
        try response.expect(201, 200)
    }

    /// `DELETE /volumes/{name}`. Returns false when the volume did not exist.
    @discardableResult
    public func removeVolume(name: String) async throws -> Bool {
        let response = try await send(.DELETE, "/volumes/\(Self.pathComponent(name))")
        if response.status == 404 { return false }
        try response.expect(204, 200)
        return true
    }

    /// Names of the volumes carrying every `label` (`key=value` or `key`).
    public func listVolumes(labels: [String]) async throws -> [String] {
        struct Listing: Decodable {
            struct Volume: Decodable {
                var name: String
                enum CodingKeys: String, CodingKey { case name = "Name" }
            }
            var volumes: [Volume]?
            enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
        }
        let response = try await send(.GET, "/volumes", query: [("filters", try Self.filters(["label": labels]))])
        try response.expect(200)
        let listing = try response.decode(Listing.self)
        return (listing.volumes ?? []).map { $0.name }
    }
}
