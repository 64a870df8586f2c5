import ErgonCore
import Foundation
import Hummingbird
import Logging

/// Turns whatever a route throws into a JSON `{"detail"}` answer, in one place: queue and
/// store errors get their status (QueueError: notFound 404, ambiguous 400, illegalTransition 409,
/// invalidWorkflow 400), Hummingbird's own errors keep theirs, anything else is a logged 500.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as QueueError {
            throw APIError(error)
        } catch let error as ArtifactStoreError {
            switch error.kind {
            case .notFound: throw APIError.notFound(error.message)
            case .unavailable:
                logger.error("artifact store failed", metadata: ["path": "\(request.uri.path)", "error": "\(error.message)"])
                throw APIError(.serviceUnavailable, error.message)
            }
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? Self.defaultDetail(error.status), headers: error.headers)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, Self.defaultDetail(error.status))
        } catch {
            logger.error(
                "request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "the server failed: \(error)")
        }
    }

    static func defaultDetail(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "no such page"
        case 413: return "the request body is too large"
        default: return status.reasonPhrase
        }
    }
}
