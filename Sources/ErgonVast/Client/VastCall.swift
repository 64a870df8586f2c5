import Foundation

/// One request to the Vast API: which operation it is, how it is sent, and what that implies for
/// classifying its answer and for resending it.
struct VastCall: Sendable {
    /// The operations the client performs.
    enum Operation: String, Sendable, CaseIterable {
        case searchOffers = "search offers"
        case createInstance = "create instance"
        case listInstances = "list instances"
        case showInstance = "show instance"
        case requestLogs = "request logs"
        case fetchLogs = "fetch logs"
        case destroyInstance = "destroy instance"
        case setLabel = "label instance"
        case stopInstance = "stop instance"

        /// The `endpoint` label of the Vast call metrics: `search_offers`, `create_instance`, ….
        var metricLabel: String { rawValue.replacingOccurrences(of: " ", with: "_") }
    }

    /// The HTTP methods the API uses.
    enum Method: String, Sendable {
        case GET, POST, PUT, DELETE
    }

    var operation: Operation
    var method: Method
    /// The path under the base URL, starting with `/api/`.
    var path: String
    /// Query parameters, unencoded, in order.
    var query: [(name: String, value: String)] = []
    /// The JSON body, if any.
    var body: JSONValue? = nil

    /// How messages name the call: `create instance (PUT /api/v0/asks/42/)`. Holds no query string
    /// (filters can be long) and never a credential.
    var label: String { "\(operation.rawValue) (\(method.rawValue) \(path))" }

    /// Every call but a create can be repeated without changing the outcome; a create whose answer
    /// was lost may have rented an instance, so repeating it could rent a second one.
    var isIdempotent: Bool { operation != .createInstance }

    /// The official CLI refuses a search answer whose Content-Type is not exactly `application/json`.
    var requiresExactJSONContentType: Bool { operation == .searchOffers }

    /// What the answer's parse keeps: a listing keeps its instances, page token and `success`
    /// (its `label_counts` names every instance of the account, on every page), and its
    /// instances (objects at depth 2, the items of `instances`) the members ``VastInstance`` reads.
    var pruning: JSONPruning? {
        guard operation == .listInstances else { return nil }
        return JSONPruning(depth: 2, members: VastInstance.readFields)
            .keeping(["instances", "next_token", "success"], atDepth: 0)
    }

    /// Calls whose answer carries nothing the client needs, so an empty 2xx body is acceptable.
    var acceptsEmptyBody: Bool {
        switch operation {
        case .destroyInstance, .setLabel, .stopInstance: return true
        default: return false
        }
    }
}
