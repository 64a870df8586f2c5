/// The endpoints of the simulated API, as named in statistics and fault rules.
public enum SimulatorEndpoint: String, Sendable, CaseIterable, Codable {
    /// `GET /api/v0/users/current`.
    case user
    /// `POST /api/v0/bundles/` (and `PUT /api/v0/search/asks/`).
    case search
    /// `PUT /api/v0/asks/{id}/`.
    case create
    /// `GET /api/v1/instances/` (and the retired `GET /api/v0/instances/`).
    case list
    /// `GET /api/v0/instances/{id}/`.
    case show
    /// `DELETE /api/v0/instances/{id}/`.
    case destroy
    /// `PUT /api/v0/instances/{id}/` with a `label`.
    case label
    /// `PUT /api/v0/instances/{id}/` with a `state` (stop/start).
    case state
    /// `PUT /api/v0/instances/request_logs/{id}/`.
    case logs
    /// `GET` of a `result_url` (no auth).
    case logResult = "log_result"
    /// Anything else under `/api/`.
    case other
}
