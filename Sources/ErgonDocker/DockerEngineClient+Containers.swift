import Foundation

extension DockerEngineClient {
    /// `GET /containers/json?all=1` restricted to containers carrying every `label` (`key=value` or
    /// `key`) and, when `ids` is given, to those ids.
    public func listContainers(labels: [String], ids: [String]? = nil) async throws -> [DockerAPI.ContainerSummary] {
        var query = [("all", "1")]
        var filters: [String: [String]] = [:]
        if !labels.isEmpty { filters["label"] = labels }
        if let ids { filters["id"] = ids }
        if !filters.isEmpty {
            query.append(("filters", try Self.filters(filters)))
        }
        let response = try await send(.GET, "/containers/json", query: query)
        try response.expect(200)
        return try response.decode([DockerAPI.ContainerSummary].self)
    }

    /// `GET /containers/{id}/json`; nil when the container does not exist.
    public func inspectContainer(_ id: String) async throws -> DockerAPI.ContainerInspect? {
        let response = try await send(.GET, "/containers/\(Self.pathComponent(id))/json")
        if response.status == 404 { return nil }
        try response.expect(200)
        return try response.decode(DockerAPI.ContainerInspect.self)
    }

    /// `POST /containers/create`; returns the new container's id.
    public func createContainer(_ body: DockerAPI.ContainerCreate, name: String? = nil) async throws -> String {
        let query: [(String, String)] = name.map { [("name", $0)] } ?? []
        let response = try await send(.POST, "/containers/create", query: query, body: try Self.encode(body))
        try response.expect(201, 200)
        return try response.decode(DockerAPI.ContainerCreated.self).id
    }

    /// `POST /containers/{id}/start`; an already started container is fine.
    public func startContainer(_ id: String) async throws {
        let response = try await send(.POST, "/containers/\(Self.pathComponent(id))/start")
        try response.expect(204, 304)
    }

    /// `DELETE /containers/{id}?force=1&v=1`. Returns false when the container did not exist.
    /// Throws a 409 (`isConflict`) while a removal is already in progress.
    @discardableResult
    public func removeContainer(_ id: String) async throws -> Bool {
        let response = try await send(
            .DELETE, "/containers/\(Self.pathComponent(id))", query: [("force", "1"), ("v", "1")])
        if response.status == 404 { return false }
        try response.expect(204, 200)
        return true
    }

    /// The JSON of an Engine API `filters` parameter.
    static func filters(_ filters: [String: [String]]) throws -> String {
        String(decoding: try encode(filters), as: UTF8.self)
    }
}
