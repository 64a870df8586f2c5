import AsyncHTTPClient
import Foundation
import NIOCore

/// The one place that decides what an answer of the Vast API means: the JSON a call asked for, or
/// a ``VastError`` of the right kind. Every call goes through it; it does no IO.
///
/// | answer | kind |
/// |---|---|
/// | 401, 403; any status whose body has `"error": "auth_error"` (Vast sends a bad key as a 404) | `.auth` |
/// | 429 (`Retry-After` in seconds or as an HTTP date) | `.rateLimited(retryAfter:)` |
/// | `"error": "no_such_ask"`; 404 or 410 on a create | `.offerGone` |
/// | other 404 and 410; `"error": "not_found"` | `.notFound` |
/// | 5xx | `.server(status:)` |
/// | other 4xx | `.rejected(status:)` |
/// | 2xx that is not a JSON object, wrong Content-Type, `"success": false` with no known code, 1xx/3xx | `.malformed` |
/// | our deadline passed (AsyncHTTPClient's deadline or read timeout) | `.timeout` |
/// | anything else the transport throws (refused, reset, DNS, TLS) | `.transport` |
enum VastResponseClassifier {
    /// The JSON object the call answered, or the error it amounts to.
    static func classify(_ response: VastHTTPResponse, call: VastCall, now: Date = Date()) -> Result<JSONValue, VastError> {
        let status = response.status
        guard (200...299).contains(status) else {
            return .failure(failure(response, call: call, now: now))
        }
        if response.body.allSatisfy(isWhitespace) {
            if call.acceptsEmptyBody { return .success(.null) }
            return .failure(malformed(call, status: status, "the answer is empty"))
        }
        if let problem = contentTypeProblem(response.contentType, call: call) {
            return .failure(malformed(call, status: status, problem))
        }
        guard let json = try? JSONParser.parse(response.body, pruning: call.pruning) else {
            return .failure(malformed(call, status: status, "the answer is not JSON: \(snippet(response.text))"))
        }
        guard json.objectValue != nil else {
            return .failure(malformed(call, status: status, "the answer is not a JSON object: \(snippet(response.text))"))
        }
        if VastFields(json).bool("success") == false {
            return .failure(failure(response, call: call, now: now))
        }
        return .success(json)
    }

    /// The error an answer amounts to when its status is not 2xx, or it is a 2xx saying `"success": false`.
    static func failure(_ response: VastHTTPResponse, call: VastCall, now: Date = Date()) -> VastError {
        let status = response.status
        let json = try? JSONValue.decode(Data(response.body))
        let fields = json.map(VastFields.init)
        let apiError = fields?.string("error")
        let apiMessage = fields.flatMap { $0.string("msg") ?? $0.string("message") ?? $0.string("detail") }
        let retryAfter = retryAfterSeconds(response.retryAfter, now: now)
        let kind = kind(status: status, apiError: apiError, call: call, retryAfter: retryAfter)

        var text = "\(call.label): HTTP \(status)"
        if (200...299).contains(status) { text += " with \"success\": false" }
        if let apiError { text += " \(apiError)" }
        if let apiMessage {
            text += ": \(snippet(apiMessage))"
        } else if fields == nil || apiError == nil {
            let body = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            text += body.isEmpty ? " (empty body)" : ": \(snippet(body))"
        }
        if case .rateLimited(let seconds?) = kind { text += " (Retry-After \(formatSeconds(seconds)))" }
        return VastError(
            kind: kind, message: text, strayInstanceID: fields?.int("new_contract"), status: status, apiError: apiError)
    }

    /// The kind of failure a status and the API's error code amount to, for `call`.
    static func kind(status: Int, apiError: String?, call: VastCall, retryAfter: Double?) -> VastError.Kind {
        if status == 401 || status == 403 || apiError == "auth_error" { return .auth }
        if status == 429 { return .rateLimited(retryAfter: retryAfter) }
        if apiError == "no_such_ask" { return .offerGone }
        if call.operation == .createInstance && (status == 404 || status == 410) { return .offerGone }
        if status == 404 || status == 410 || apiError == "not_found" { return .notFound }
        if (500...599).contains(status) { return .server(status: status) }
        if (400...499).contains(status) { return .rejected(status: status) }
        return .malformed
    }

    /// What the transport threw, as a ``VastError`` (`.timeout` for deadlines, `.transport` otherwise).
    static func transportFailure(_ error: any Error, call: VastCall) -> VastError {
        if let error = error as? VastError { return error }
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout {
                return VastError(kind: .timeout, message: "\(call.label): no answer within the deadline")
            }
            return VastError(kind: .transport, message: "\(call.label): \(error)")
        }
        if let error = error as? IOError {
            return VastError(kind: .transport, message: "\(call.label): \(String(cString: strerror(error.errnoCode)))")
        }
        return VastError(kind: .transport, message: "\(call.label): \(String(describing: error))")
    }

    /// Seconds to wait according to a `Retry-After` header: a number of seconds, or an HTTP date.
    static func retryAfterSeconds(_ header: String?, now: Date) -> Double? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return max(0, date.timeIntervalSince(now)) }
        }
        return nil
    }

    // MARK: - Pieces

    private static func contentTypeProblem(_ contentType: String?, call: VastCall) -> String? {
        if call.requiresExactJSONContentType {
            // The official CLI compares the header with this exact string.
            return contentType == "application/json" ? nil : "Content-Type is \(contentType.map { "\"\($0)\"" } ?? "missing"), not \"application/json\""
        }
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if media == "application/json" || media.hasSuffix("+json") { return nil }
        return "Content-Type is \"\(contentType)\", not JSON"
    }

    private static func malformed(_ call: VastCall, status: Int, _ problem: String) -> VastError {
        VastError(kind: .malformed, message: "\(call.label): HTTP \(status): \(problem)", status: status)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// One line of at most 300 characters, for messages.
    static func snippet(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.2f s", seconds)
    }
}
