import ErgonVast
import Hummingbird

/// Which endpoint a request is for, with its path parameter.
enum SimulatorRoute: Sendable, Equatable {
    case user
    case search
    case create(offerID: Int)
    case list
    case retiredList
    case instanceFilters
    /// `GET /api/v0/gpu_names/unique/`: public, the CLI asks it without a key.
    case gpuNames
    case show(id: Int)
    case update(id: Int, endpoint: SimulatorEndpoint)
    case destroy(id: Int)
    case logs(id: Int)
    case unknown

    /// Reads the method and path (`/api/…`, trailing slash optional); `body` tells a label update
    /// from a state change.
    init(method: HTTPRequest.Method, segments: [String], body: JSONValue) {
        let path = segments.dropFirst().map { $0 }
        switch (method, path) {
        case (.get, ["v0", "users", "current"]): self = .user
        case (.get, ["v0", "gpu_names", "unique"]): self = .gpuNames
        case (.post, ["v0", "bundles"]), (.put, ["v0", "search", "asks"]): self = .search
        case (.put, let p) where p.count == 3 && p[0] == "v0" && p[1] == "asks" && Int(p[2]) != nil:
            self = .create(offerID: Int(p[2])!)
        case (.get, ["v1", "instances"]): self = .list
        case (.get, ["v0", "instances"]): self = .retiredList
        case (.get, ["v0", "instances", "filters"]): self = .instanceFilters
        case (.put, let p) where p.count == 4 && p[0] == "v0" && p[1] == "instances" && p[2] == "request_logs" && Int(p[3]) != nil:
            self = .logs(id: Int(p[3])!)
        case (let method, let p) where p.count == 3 && p[0] == "v0" && p[1] == "instances" && Int(p[2]) != nil:
            let id = Int(p[2])!
            switch method {
            case .get: self = .show(id: id)
            case .delete: self = .destroy(id: id)
            case .put: self = .update(id: id, endpoint: body["label"] != nil && body["state"] == nil ? .label : .state)
            default: self = .unknown
            }
        default: self = .unknown
        }
    }

    /// The endpoint for statistics and faults.
    var endpoint: SimulatorEndpoint {
        switch self {
        case .user: return .user
        case .search: return .search
        case .create: return .create
        case .list, .retiredList: return .list
        case .show: return .show
        case .update(_, let endpoint): return endpoint
        case .destroy: return .destroy
        case .logs: return .logs
        case .instanceFilters, .gpuNames, .unknown: return .other
        }
    }
}
