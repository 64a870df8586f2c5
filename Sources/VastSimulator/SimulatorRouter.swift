import ErgonVast
import Foundation
import Hummingbird
import Logging

/// Turns HTTP requests into calls on ``SimulatedVast`` and its answers into responses: routing,
/// authentication, fault injection and the `/__sim/` test hooks.
struct SimulatorRouter: Sendable {
    let vast: SimulatedVast
    let port: PortPromise
    let logger: Logger

    /// The largest request body read.
    static let maximumBodySize = 4 * 1024 * 1024

    func respond(to request: Request) async -> Response {
        var request = request
        let segments = request.uri.path.split(separator: "/").map(String.init)
        let query = Self.queryParameters(request.uri.query)
        let bytes = (try? await request.collectBody(upTo: Self.maximumBodySize)).map { Data(buffer: $0) } ?? Data()
        let body: JSONValue?
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            body = [:]
        } else {
            body = try? JSONValue.decode(bytes)
        }
        let response: Response
        if segments.first == "__sim" {
            response = await hook(request: request, segments: Array(segments.dropFirst()), query: query, body: body ?? [:])
        } else if segments.first == "api" {
            response = await api(request: request, segments: segments, query: query, body: body)
        } else {
            response = Self.json(["success": false, "error": "not_found", "msg": "no such page"], status: 404)
        }
        logger.debug("vast-sim: \(request.method) \(request.uri.path) → \(response.status.code)")
        return response
    }

    private func api(request: Request, segments: [String], query: [String: String], body: JSONValue?) async -> Response {
        let route = SimulatorRoute(method: request.method, segments: segments, body: body ?? [:])
        await vast.record(route.endpoint)
        if route == .gpuNames {
            let names = Set(vast.market.offers.map(\.gpuName)).sorted()
            return Self.json(["success": true, "gpu_names": .array(names.map(JSONValue.string))])
        }
        let caller: SimulatedVast.Caller
        do {
            caller = try await vast.authorize(key: Self.apiKey(request: request, query: query))
        } catch {
            return Self.error(error)
        }
        guard let body else {
            return Self.error(SimulatorAPIError(status: 400, code: "invalid_request", message: "the request body is not valid JSON"))
        }
        var createFault: FaultRule?
        if let fault = await vast.fault(for: route.endpoint) {
            if let answer = await Self.answer(for: fault) { return answer }
            createFault = fault.kind.isCreateOnly ? fault : nil
        }
        if caller != .account {
            // An instance's own key reads and stops that instance, nothing else.
            switch route {
            case .show, .update(_, .state): break
            default: return Self.error(SimulatorAPIError.badKey)
            }
        }
        do {
            switch route {
            case .user: return Self.json(await vast.user(key: Self.apiKey(request: request, query: query)))
            case .search: return Self.json(try await vast.search(body: body))
            case .create(let offerID): return Self.json(try await vast.create(offerID: offerID, body: body, fault: createFault))
            case .list: return Self.json(try await vast.list(parameters: query))
            case .retiredList:
                return Self.json(
                    ["success": false, "error": "gone", "msg": "This endpoint is retired: use GET /api/v1/instances/"], status: 410)
            case .instanceFilters: return Self.json(await vast.instanceFilters())
            case .gpuNames: return Self.json([:])
            case .show(let id): return Self.json(await vast.show(id: id, caller: caller))
            case .update(let id, _): return Self.json(try await vast.update(id: id, body: body, caller: caller))
            case .destroy(let id): return Self.json(try await vast.destroy(id: id))
            case .logs(let id):
                return Self.json(try await vast.requestLogs(id: id, body: body, caller: caller, baseURL: await baseURL(request)))
            case .unknown:
                return Self.json(["success": false, "error": "not_found", "msg": "no such endpoint"], status: 404)
            }
        } catch {
            return Self.error(error)
        }
    }

    /// The answer a fault gives instead of the real one; nil when the request goes on (a delay,
    /// or a create-only kind that shapes the create itself).
    static func answer(for fault: FaultRule) async -> Response? {
        switch fault.kind {
        case .rateLimit:
            var headers: [(String, String)] = []
            if let seconds = fault.retryAfter {
                headers.append(("Retry-After", seconds.rounded() == seconds ? String(Int(seconds)) : String(seconds)))
            }
            return json(
                ["success": false, "error": "too_many_requests", "msg": .string(fault.message ?? "API requests too frequent: slow down")],
                status: fault.status ?? 429, headers: headers)
        case .serverError:
            let status = fault.status ?? 503
            return json(
                ["success": false, "error": "server_error", "msg": .string(fault.message ?? "error \(status): the server could not answer")],
                status: status)
        case .softError:
            return json(
                ["success": false, "error": "internal_error", "msg": .string(fault.message ?? "error 200/1000: internal_error try again later")])
        case .authError:
            return error(SimulatorAPIError.badKey)
        case .delay:
            try? await Task.sleep(for: .seconds(fault.delaySeconds))
            return nil
        default:
            return nil
        }
    }

    /// The base of URLs the simulator hands out (`result_url`): the address the client used.
    private func baseURL(_ request: Request) async -> String {
        if let host = request.head.authority, !host.isEmpty { return "http://\(host)" }
        let port = (try? await port.value()) ?? 0
        return "http://127.0.0.1:\(port)"
    }

    /// The key from `Authorization: Bearer KEY`, else from `?api_key=KEY`.
    static func apiKey(request: Request, query: [String: String]) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
        }
        return query["api_key"]
    }

    /// Query parameters, decoded as Python's `quote_plus` encodes them (`+` is a space).
    static func queryParameters(_ query: String?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            parameters[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return parameters
    }

    /// A JSON answer with `Content-Type: application/json` exactly (the CLI checks it).
    static func json(_ value: JSONValue, status: Int = 200, headers: [(String, String)] = []) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers where name == "Retry-After" {
            // The only extra header the simulator sends.
            fields[.retryAfter] = value
        }
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }

    /// A plain text answer.
    static func text(_ text: String, status: Int = 200) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The answer for an error thrown by the state.
    static func error(_ error: any Error) -> Response {
        guard let error = error as? SimulatorAPIError else {
            return json(["success": false, "error": "server_error", "msg": .string("\(error)")], status: 500)
        }
        return json(error.body, status: error.status, headers: error.headers)
    }
}
