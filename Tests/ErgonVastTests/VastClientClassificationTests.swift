import Foundation
import Testing

@testable import ErgonVast

/// The one classification of Vast answers, as a table: status, body, headers and call in, kind out.
@Suite struct VastClientClassificationTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var call: VastCall
        var response: VastHTTPResponse
        var kind: VastError.Kind
        var testDescription: String { name }
    }

    static let search = VastCall.searchOffers(body: [:])
    static let create = VastCall.createInstance(offerID: 7, request: VastCreateRequest(image: "img", disk: 10, label: "l"))
    static let show = VastCall.showInstance(id: 3)
    static let destroy = VastCall.destroyInstance(id: 3)

    static func error(_ code: String, _ msg: String = "boom") -> JSONValue {
        ["success": false, "error": .string(code), "msg": .string(msg)]
    }

    static let rows: [Row] = [
        Row(name: "401", call: show, response: .init(status: 401, json: error("auth_error")), kind: .auth),
        Row(name: "403 text", call: show, response: .init(status: 403, contentType: "text/plain", body: Array("no".utf8)), kind: .auth),
        Row(name: "404 auth_error", call: search, response: .init(status: 404, json: error("auth_error")), kind: .auth),
        Row(name: "404 auth_error on create", call: create, response: .init(status: 404, json: error("auth_error")), kind: .auth),
        Row(name: "429 seconds", call: search, response: .init(status: 429, json: error("rate_limited"), retryAfter: "2"), kind: .rateLimited(retryAfter: 2)),
        Row(name: "429 text, no Retry-After", call: show, response: .init(status: 429, contentType: "text/plain", body: Array("slow down".utf8)), kind: .rateLimited(retryAfter: nil)),
        Row(name: "404 no_such_ask", call: create, response: .init(status: 404, json: error("no_such_ask", "error 404/3603: ask 7 is not available")), kind: .offerGone),
        Row(name: "410 no_such_ask", call: create, response: .init(status: 410, json: error("no_such_ask")), kind: .offerGone),
        Row(name: "404 bare on create", call: create, response: .init(status: 404, contentType: "text/html", body: Array("<h1>404</h1>".utf8)), kind: .offerGone),
        Row(name: "404 not_found", call: destroy, response: .init(status: 404, json: error("not_found")), kind: .notFound),
        Row(name: "404 bare", call: show, response: .init(status: 404, contentType: "text/html", body: []), kind: .notFound),
        Row(name: "410 on a read", call: show, response: .init(status: 410, json: error("gone")), kind: .notFound),
        Row(name: "500", call: show, response: .init(status: 500, json: error("server_error")), kind: .server(status: 500)),
        Row(name: "502 html", call: search, response: .init(status: 502, contentType: "text/html", body: Array("<html>bad gateway</html>".utf8)), kind: .server(status: 502)),
        Row(name: "503", call: create, response: .init(status: 503, body: []), kind: .server(status: 503)),
        Row(name: "400 invalid_args", call: create, response: .init(status: 400, json: error("invalid_args", "disk must be >= 8")), kind: .rejected(status: 400)),
        Row(name: "200 success false", call: show, response: .init(status: 200, json: error("weird")), kind: .malformed),
        Row(name: "200 success false auth_error", call: show, response: .init(status: 200, json: error("auth_error")), kind: .auth),
        Row(name: "200 success false no_such_ask", call: create, response: .init(status: 200, json: error("no_such_ask")), kind: .offerGone),
        Row(name: "200 not JSON", call: show, response: .init(status: 200, body: Array("<html>".utf8)), kind: .malformed),
        Row(name: "200 JSON array", call: show, response: .init(status: 200, json: [1, 2]), kind: .malformed),
        Row(name: "200 empty on a read", call: show, response: .init(status: 200, body: []), kind: .malformed),
        Row(name: "200 text/html", call: show, response: .init(status: 200, json: ["instances": nil], contentType: "text/html"), kind: .malformed),
        Row(name: "search with charset", call: search, response: .init(status: 200, json: ["offers": []], contentType: "application/json; charset=utf-8"), kind: .malformed),
        Row(name: "search without Content-Type", call: search, response: .init(status: 200, json: ["offers": []], contentType: nil), kind: .malformed),
        Row(name: "302", call: show, response: .init(status: 302, body: []), kind: .malformed),
    ]

    @Test(arguments: rows)
    func classifies(_ row: Row) throws {
        let result = VastResponseClassifier.classify(row.response, call: row.call)
        guard case .failure(let error) = result else {
            Issue.record("expected \(row.kind), got success")
            return
        }
        #expect(error.kind == row.kind)
        #expect(error.message.hasPrefix(row.call.label))
        #expect(error.message.contains("HTTP \(row.response.status)"))
    }

    @Test func messagesNameTheCallStatusCodeAndMsg() throws {
        let response = VastHTTPResponse(status: 404, json: Self.error("no_such_ask", "error 404/3603: ask 7 is not available"))
        let error = try #require(VastResponseClassifier.classify(response, call: Self.create).failure)
        #expect(error.description == "create instance (PUT /api/v0/asks/7/): HTTP 404 no_such_ask: error 404/3603: ask 7 is not available")
        #expect(error.apiError == "no_such_ask")
        #expect(error.status == 404)
    }

    @Test func successesPassTheJSONThrough() throws {
        let search = VastResponseClassifier.classify(.init(status: 200, json: ["offers": []]), call: Self.search)
        #expect(try search.get() == ["offers": []])
        // Other calls accept a charset parameter, and an empty body where nothing is read.
        let show = VastResponseClassifier.classify(
            .init(status: 200, json: ["instances": nil], contentType: "application/json; charset=utf-8"), call: Self.show)
        #expect(try show.get() == ["instances": nil])
        let destroyed = VastResponseClassifier.classify(.init(status: 204, contentType: nil, body: []), call: Self.destroy)
        #expect(try destroyed.get() == .null)
        #expect(throws: Never.self) { try VastResponseClassifier.classify(.init(status: 200, json: ["success": true]), call: Self.destroy).get() }
    }

    @Test func anErrorCarryingANewContractNamesTheStrayInstance() throws {
        let body: JSONValue = ["success": false, "error": "internal", "msg": "failed to start", "new_contract": "4242"]
        let error = try #require(VastResponseClassifier.classify(.init(status: 500, json: body), call: Self.create).failure)
        #expect(error.kind == .server(status: 500))
        #expect(error.strayInstanceID == 4242)
        #expect(error.description.contains("instance 4242 was created anyway"))
        let onOK = try #require(
            VastResponseClassifier.classify(.init(status: 200, json: ["success": false, "new_contract": 9]), call: Self.create).failure)
        #expect(onOK.strayInstanceID == 9)
    }

    @Test func retryAfterReadsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(VastResponseClassifier.retryAfterSeconds("7", now: now) == 7)
        #expect(VastResponseClassifier.retryAfterSeconds(" 1.5 ", now: now) == 1.5)
        #expect(VastResponseClassifier.retryAfterSeconds("-3", now: now) == 0)
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(VastResponseClassifier.retryAfterSeconds("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == 30)
        #expect(VastResponseClassifier.retryAfterSeconds("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == 0)
        #expect(VastResponseClassifier.retryAfterSeconds("soon", now: now) == nil)
        #expect(VastResponseClassifier.retryAfterSeconds(nil, now: now) == nil)
        let response = VastHTTPResponse(status: 429, json: [:], retryAfter: "Tue, 14 Nov 2023 22:13:30 GMT")
        #expect(VastResponseClassifier.failure(response, call: Self.search, now: now).kind == .rateLimited(retryAfter: 10))
    }

    @Test func retryableKinds() {
        func error(_ kind: VastError.Kind, code: String? = nil) -> VastError { VastError(kind: kind, message: "", apiError: code) }
        #expect(error(.rateLimited(retryAfter: nil)).isRetryable)
        #expect(!error(.rateLimited(retryAfter: nil), code: "search_quota_exceeded").isRetryable)
        for status in [500, 502, 503, 504] { #expect(error(.server(status: status)).isRetryable) }
        #expect(!error(.server(status: 501)).isRetryable)
        #expect(error(.transport).isRetryable)
        #expect(error(.timeout).isRetryable)
        for kind in [VastError.Kind.auth, .offerGone, .notFound, .rejected(status: 400), .malformed] {
            #expect(!error(kind).isRetryable)
        }
    }

    @Test func redactionRemovesTheKeyEverywhere() throws {
        let key = "sk-test-0123456789abcdef"
        let echoing: JSONValue = ["success": false, "error": .string("auth_error \(key)"), "msg": .string("bad key \(key)")]
        for status in [200, 401, 404, 410, 429, 500, 400] {
            for call in [Self.search, Self.create, Self.show, Self.destroy] {
                let raw = VastResponseClassifier.failure(.init(status: status, json: echoing), call: call)
                let redacted = raw.redacting(key)
                #expect(!String(describing: redacted).contains(key))
                #expect(!(redacted.apiError ?? "").contains(key))
                #expect(!String(reflecting: redacted).contains(key))
            }
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
