import AsyncHTTPClient
import ErgonTestSupport
import ErgonVast
import Foundation
import NIOCore
import NIOHTTP1

/// Plain HTTP requests to a simulator, independent of Ergon's own Vast client.
struct SimulatorTestClient {
    /// One answer.
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var text: String

        /// The body as JSON (null when it is not JSON).
        var json: JSONValue { (try? JSONValue.decode(Data(text.utf8))) ?? .null }
    }

    let baseURL: String
    /// The key sent as `Authorization: Bearer`; nil sends none.
    var apiKey: String?

    init(_ harness: VastSimulatorHarness, apiKey: String? = nil) {
        self.baseURL = harness.baseURL
        self.apiKey = apiKey ?? harness.apiKey
    }

    func get(_ path: String) async throws -> Answer { try await send(.GET, path) }
    func delete(_ path: String) async throws -> Answer { try await send(.DELETE, path, body: [:]) }
    func put(_ path: String, _ body: JSONValue) async throws -> Answer { try await send(.PUT, path, body: body) }
    func post(_ path: String, _ body: JSONValue) async throws -> Answer { try await send(.POST, path, body: body) }

    /// Sends a request to `path` (relative to the base URL, or a full URL).
    func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, authorized: Bool = true) async throws -> Answer {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : baseURL + path)
        request.method = method
        if authorized, let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.encoded()))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: bytes))
    }

    // MARK: - Shortcuts

    /// `POST /api/v0/bundles/` with `body`; the offers.
    func search(_ body: JSONValue) async throws -> [JSONValue] {
        try await post("/api/v0/bundles/", body).json["offers"]?.arrayValue ?? []
    }

    /// Rents `offer` with a minimal valid body plus `extra` keys; the answer.
    func create(offer: Int, _ extra: [String: JSONValue] = [:]) async throws -> Answer {
        var body: [String: JSONValue] = [
            "client_id": "me", "image": "ergon-test/busybox:1", "env": [:], "disk": 10, "runtype": "args",
            "args": ["echo", "hi"],
        ]
        for (key, value) in extra { body[key] = value }
        return try await put("/api/v0/asks/\(offer)/", .object(body))
    }

    /// Rents the cheapest available offer; the new instance id.
    func createCheapest(_ extra: [String: JSONValue] = [:]) async throws -> Int {
        let offers = try await search(["rentable": ["eq": true], "order": [["dph_total", "asc"]], "limit": 5])
        for offer in offers {
            let answer = try await create(offer: offer["id"]!.intValue!, extra)
            if let id = answer.json["new_contract"]?.intValue, answer.status == 200 { return id }
        }
        throw SimulatorTestFailure("no offer could be rented")
    }

    /// `GET /api/v0/instances/{id}/?owner=me`; the `instances` member.
    func show(_ id: Int) async throws -> JSONValue {
        try await get("/api/v0/instances/\(id)/?owner=me").json["instances"] ?? .null
    }

    /// Requests logs and polls the result URL until it answers 200; the text and the 404s seen.
    func logs(_ id: Int, tail: Int = 1000) async throws -> (text: String, misses: Int) {
        let answer = try await put("/api/v0/instances/request_logs/\(id)/", ["tail": .string(String(tail))])
        guard let url = answer.json["result_url"]?.stringValue else {
            throw SimulatorTestFailure("no result_url in \(answer.text)")
        }
        for misses in 0..<30 {
            let result = try await send(.GET, url, authorized: false)
            if result.status == 200 { return (result.text, misses) }
        }
        throw SimulatorTestFailure("the result URL never answered 200")
    }
}

/// A test precondition that did not hold.
struct SimulatorTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
