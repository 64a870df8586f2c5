import Crypto
import ErgonCore
import Foundation
import Hummingbird
import Logging

/// Guards the operator task API with `Authorization: Bearer <server.operator_token>`, compared
/// in constant time. Without a configured token the whole API answers 403. Refusals are logged
/// without the header's value.
struct OperatorGate<Context: RequestContext>: RouterMiddleware {
    let token: ErgonConfig.Secret?
    let logger: Logger

    static var offDetail: String { "the task API is off: set server.operator_token" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else {
            throw refuse(request, APIError(.forbidden, Self.offDetail))
        }
        guard let presented = Self.bearer(request.headers[.authorization]) else {
            throw refuse(request, .unauthorized("no `Authorization: Bearer <server.operator_token>` header", scheme: "Bearer"))
        }
        guard Self.same(presented, token.value) else {
            throw refuse(request, .unauthorized("the bearer token is not server.operator_token", scheme: "Bearer"))
        }
        return try await next(request, context)
    }

    /// The credential of `Bearer <credential>`, nil for anything else.
    static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let credential = parts[1].trimmingCharacters(in: .whitespaces)
        return credential.isEmpty ? nil : credential
    }

    /// Equality whose time does not depend on where the texts differ: both are hashed to equal
    /// lengths first, then every byte is compared.
    static func same(_ a: String, _ b: String) -> Bool {
        let left = Array(SHA256.hash(data: Data(a.utf8)))
        let right = Array(SHA256.hash(data: Data(b.utf8)))
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    private func refuse(_ request: Request, _ error: APIError) -> APIError {
        logger.notice(
            "task API refused a request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(error.status.code)",
                "reason": "\(error.detail)",
            ])
        return error
    }
}
