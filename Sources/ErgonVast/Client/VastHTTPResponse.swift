import Foundation

/// A complete HTTP answer, reduced to what classifying it needs.
struct VastHTTPResponse: Sendable, Equatable {
    var status: Int
    /// The `Content-Type` header, when the server sent one.
    var contentType: String?
    /// The `Retry-After` header, when the server sent one.
    var retryAfter: String?
    var body: [UInt8]

    init(status: Int, contentType: String? = "application/json", retryAfter: String? = nil, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.retryAfter = retryAfter
        self.body = body
    }

    /// An answer with a JSON body (for tests and the classifier's own use).
    init(status: Int, json: JSONValue, contentType: String? = "application/json", retryAfter: String? = nil) {
        self.init(status: status, contentType: contentType, retryAfter: retryAfter, body: Array(json.encoded()))
    }

    /// The body as text (invalid UTF-8 replaced).
    var text: String { String(decoding: body, as: UTF8.self) }
}
