import ErgonCore
import Foundation
import Hummingbird

/// A refusal or failure answered as JSON `{"detail": "..."}`, the shape Arkindex clients
/// print. The detail names what is wrong; it never holds a token.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var detail: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    public var description: String { "\(status.code) \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = APIJSON.response(["detail": detail], status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, detail) }
    static func forbidden(_ detail: String) -> APIError { APIError(.forbidden, detail) }
    static func notFound(_ detail: String) -> APIError { APIError(.notFound, detail) }

    /// A worker token refusal: 401 with the challenge Arkindex clients expect.
    static func unauthorized(_ detail: String, scheme: String) -> APIError {
        APIError(.unauthorized, detail, headers: [.wwwAuthenticate: scheme])
    }

    /// The answer for a queue error: one mapping for every route.
    init(_ error: QueueError) {
        switch error.kind {
        case .notFound: self.init(.notFound, error.message)
        case .ambiguous, .invalidWorkflow: self.init(.badRequest, error.message)
        case .illegalTransition, .notHeld: self.init(.conflict, error.message)
        case .schemaTooNew: self.init(.internalServerError, error.message)
        case .unavailable: self.init(.serviceUnavailable, error.message)
        }
    }
}
