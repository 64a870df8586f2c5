import Crypto
import ErgonCore
import Foundation

/// The agent's download URL for one of a task's resources, as `RetrieveModelVersion` and
/// `ListTaskResources` hand it out: bound to the task, the attempt, the resource's position and
/// an expiry, signed with HMAC-SHA256 so the download needs no token (the worker's plain
/// `requests.get` of `s3_url` sends none).
struct ResourceSignature: SignedGrant, Equatable {
    var taskID: UUID
    var attempt: Int
    var index: Int
    /// Unix seconds after which the URL is refused.
    var expires: Int64

    /// Method, task, attempt, index and expiry, one per line: distinct from an upload's text,
    /// which starts with `PUT`.
    var message: Data {
        Data("GET resource\n\(taskID.uuidString.lowercased())\n\(attempt)\n\(index)\n\(expires)".utf8)
    }

    /// `/api/v1/resource/<task>/<index>?attempt=N&expires=UNIX&signature=HEX`, to append to an origin.
    func path(key: SymmetricKey) -> String {
        "/api/v1/resource/\(taskID.uuidString.lowercased())/\(index)?attempt=\(attempt)&expires=\(expires)&signature=\(signature(key: key))"
    }
}
