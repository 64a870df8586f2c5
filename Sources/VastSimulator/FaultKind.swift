/// A failure the simulator can inject (see ``FaultPlan`` for the file format).
public enum FaultKind: String, Sendable, Codable, CaseIterable {
    /// HTTP 429 with `Retry-After` (``FaultRule/retryAfter`` seconds; null leaves it out).
    case rateLimit = "rate_limit"
    /// HTTP 5xx (``FaultRule/status``, default 503) with a JSON error; nothing is done.
    case serverError = "server_error"
    /// HTTP 200 with `{"success": false, …}`; nothing is done.
    case softError = "soft_error"
    /// HTTP 404 `auth_error`, as for a bad key, even though the key is right.
    case authError = "auth_error"
    /// The answer is held back ``FaultRule/delaySeconds`` (real time), then the request is served
    /// normally: for a create, the instance exists although the client may have timed out.
    case delay
    /// Create only: someone else rented the offer between search and create; 404 (or
    /// ``FaultRule/status`` 410) `no_such_ask`, and the offer is gone from the market.
    case offerTaken = "offer_taken"
    /// Create only: the instance is made, but the answer is an error (``FaultRule/status``,
    /// default 500) that still carries `new_contract`.
    case errorWithContract = "error_with_contract"
    /// Create only: the instance stays `loading` forever.
    case stuckLoading = "stuck_loading"
    /// Create only: after loading, the instance sits in `created` with an `OCI runtime create
    /// failed` status message (a host driver too old for the image).
    case ociFailure = "oci_failure"
    /// Create only: the host goes `offline` ``FaultRule/afterSeconds`` into the run; its logs
    /// are never ready again.
    case hostOffline = "host_offline"
    /// Create only: the instance is interrupted ``FaultRule/afterSeconds`` into the run: the
    /// stopped triple (`cur_state = intended_status = next_state = stopped`) without being asked,
    /// and no end of output.
    case interrupted
    /// Create only: the instance's GPU fails Ergon's acceptance check (`vast_api.acceptance_check`)
    /// when the create runs one: the log shows the check's failure line and the wrapper ends
    /// before the task's command, the check's status being ``FaultRule/status`` (default 1).
    /// Without a check in the create, the task runs as usual.
    case gpuCheckFailure = "gpu_check_failure"

    /// True for kinds decided at create that shape the instance's life rather than the answer.
    public var isLifecycle: Bool {
        switch self {
        case .stuckLoading, .ociFailure, .hostOffline, .interrupted, .gpuCheckFailure: return true
        default: return false
        }
    }

    /// True for kinds that only make sense on create.
    public var isCreateOnly: Bool {
        isLifecycle || self == .offerTaken || self == .errorWithContract
    }
}
