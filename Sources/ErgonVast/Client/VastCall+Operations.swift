import Foundation

/// The requests behind each ``VastClient`` method, built without IO so they can be checked alone.
extension VastCall {
    /// `POST /api/v0/bundles/` with the search body as given.
    static func searchOffers(body: JSONValue) -> VastCall {
        VastCall(operation: .searchOffers, method: .POST, path: "/api/v0/bundles/", body: body)
    }

    /// `PUT /api/v0/asks/{offerID}/` with the create body.
    static func createInstance(offerID: Int, request: VastCreateRequest) -> VastCall {
        VastCall(operation: .createInstance, method: .PUT, path: "/api/v0/asks/\(offerID)/", body: request.json)
    }

    /// One page of `GET /api/v1/instances/`, ordered by id as the official CLI asks.
    static func listInstances(selectFilters: JSONValue?, limit: Int, after token: String?) -> VastCall {
        var query: [(name: String, value: String)] = [
            ("limit", String(limit)),
            ("select_filters", (selectFilters ?? [:]).jsonText),
            ("order_by", #"[{"col":"id","dir":"asc"}]"#),
            ("select_cols", listedColumns),
        ]
        if let token { query.append(("after_token", token)) }
        return VastCall(operation: .listInstances, method: .GET, path: "/api/v1/instances/", query: query)
    }

    /// The columns a listing asks for, as the CLI's `show instances` does: the members the agent
    /// reads (``VastInstance/readFields``), not the eighty or so of a whole row.
    static let listedColumns = JSONValue.array(VastInstance.readFields.sorted().map { .string($0) }).jsonText

    /// `GET /api/v0/instances/{id}/?owner=me`.
    static func showInstance(id: Int) -> VastCall {
        VastCall(operation: .showInstance, method: .GET, path: "/api/v0/instances/\(id)/", query: [("owner", "me")])
    }

    /// `PUT /api/v0/instances/request_logs/{id}/` with `{"tail": "N"}` (a string, as the CLI sends it).
    static func requestLogs(id: Int, tail: Int) -> VastCall {
        VastCall(
            operation: .requestLogs, method: .PUT, path: "/api/v0/instances/request_logs/\(id)/",
            body: ["tail": .string(String(max(1, tail)))])
    }

    /// The fetch of a log's `result_url`; the path only names it in messages.
    static func fetchLogs(id: Int) -> VastCall {
        VastCall(operation: .fetchLogs, method: .GET, path: "result_url of instance \(id)")
    }

    /// `DELETE /api/v0/instances/{id}/` with body `{}`.
    static func destroyInstance(id: Int) -> VastCall {
        VastCall(operation: .destroyInstance, method: .DELETE, path: "/api/v0/instances/\(id)/", body: [:])
    }

    /// `PUT /api/v0/instances/{id}/` with `{"label": …}`.
    static func setLabel(id: Int, label: String) -> VastCall {
        VastCall(operation: .setLabel, method: .PUT, path: "/api/v0/instances/\(id)/", body: ["label": .string(label)])
    }

    /// `PUT /api/v0/instances/{id}/` with `{"state": "stopped"}`.
    static func stopInstance(id: Int) -> VastCall {
        VastCall(operation: .stopInstance, method: .PUT, path: "/api/v0/instances/\(id)/", body: ["state": "stopped"])
    }
}
