import ErgonVast

/// An error answer of the simulated API: `{"success": false, "error": CODE, "msg": MESSAGE}` with
/// an HTTP status, shaped like Vast's own (`"msg": "error 404/3603: no_such_ask …"`).
struct SimulatorAPIError: Error, Sendable {
    /// The HTTP status.
    var status: Int
    /// The `error` code (`no_such_ask`, `auth_error`, `invalid_args`, …).
    var code: String
    /// The `msg` text.
    var message: String
    /// Extra members of the body (`new_contract` of a failed create that still made an instance).
    var extra: [String: JSONValue] = [:]
    /// Extra headers (`Retry-After`).
    var headers: [(String, String)] = []

    /// The JSON body.
    var body: JSONValue {
        var members = extra
        members["success"] = false
        members["error"] = .string(code)
        members["msg"] = .string(message)
        return .object(members)
    }

    /// 400 `invalid_args`: the request body is wrong.
    static func invalidArguments(_ message: String) -> SimulatorAPIError {
        SimulatorAPIError(status: 400, code: "invalid_args", message: "error 400/3200: invalid_args \(message)")
    }

    /// 404 `no_such_ask`: the offer is not (or no longer) available.
    static func noSuchAsk(_ id: Int, status: Int = 404) -> SimulatorAPIError {
        let words = status == 410 ? "is no longer available." : "is not available."
        return SimulatorAPIError(
            status: status, code: "no_such_ask",
            message: "error \(status)/3603: no_such_ask Instance type by id \(id) \(words)")
    }

    /// 404 `not_found`: no such instance.
    static func instanceNotFound(_ id: Int) -> SimulatorAPIError {
        SimulatorAPIError(status: 404, code: "not_found", message: "error 404/3603: not_found Instance \(id) not found.")
    }

    /// 404 `auth_error`: Vast answers a bad key with 404, not 401.
    static let badKey = SimulatorAPIError(
        status: 404, code: "auth_error", message: "error 404/3603: auth_error Invalid user key")

    /// 401: no key at all.
    static let missingKey = SimulatorAPIError(
        status: 401, code: "not_logged_in", message: "Please log in or sign up")
}
