import ErgonCore
import ErgonVast

/// One rule of a ``FaultPlan``: on which endpoints, which failure, how often.
public struct FaultRule: Sendable, Equatable {
    /// The endpoints it applies to; empty means every endpoint.
    public var endpoints: Set<SimulatorEndpoint>
    /// The failure.
    public var kind: FaultKind
    /// The probability (0–1) that a matching request fails.
    public var rate: Double
    /// Matching requests let through before the rule may fire.
    public var after: Int
    /// The most times the rule fires; nil for no limit.
    public var times: Int?
    /// The HTTP status, for kinds that have one (`server_error` 503, `offer_taken` 404 or 410,
    /// `error_with_contract` 500).
    public var status: Int?
    /// `Retry-After` of a `rate_limit`, seconds; nil leaves the header out.
    public var retryAfter: Double?
    /// How long a `delay` holds the answer, seconds of real time.
    public var delaySeconds: Double
    /// Seconds into the run when `host_offline` or `interrupted` strike; nil for half the run.
    public var afterSeconds: Double?
    /// The `msg` of the error, or the `status_msg` of an `oci_failure`; nil for the default text.
    public var message: String?

    /// A rule.
    public init(
        endpoints: Set<SimulatorEndpoint> = [], kind: FaultKind, rate: Double = 1, after: Int = 0, times: Int? = nil,
        status: Int? = nil, retryAfter: Double? = 1, delaySeconds: Double = 5, afterSeconds: Double? = nil,
        message: String? = nil
    ) {
        self.endpoints = endpoints
        self.kind = kind
        self.rate = rate
        self.after = after
        self.times = times
        self.status = status
        self.retryAfter = retryAfter
        self.delaySeconds = delaySeconds
        self.afterSeconds = afterSeconds
        self.message = message
    }

    /// True when the rule applies to `endpoint`.
    public func applies(to endpoint: SimulatorEndpoint) -> Bool {
        if kind.isCreateOnly { return endpoint == .create }
        return endpoints.isEmpty || endpoints.contains(endpoint)
    }

    static let keys = [
        "endpoint", "kind", "rate", "after", "times", "status", "retry_after", "delay_seconds", "after_seconds", "message",
    ]

    /// Reads one rule of a fault file; `path` names it in errors (`faults[2]`).
    init(json: JSONValue, path: String) throws(FaultPlanError) {
        guard case .object(let members) = json else { throw FaultPlanError("\(path): a rule must be an object") }
        for key in members.keys.sorted() where !Self.keys.contains(key) {
            let hint = KeySuggestion.closest(to: key, among: Self.keys).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw FaultPlanError("\(path): unknown key \"\(key)\"\(hint)")
        }
        guard let kindName = members["kind"]?.stringValue else {
            throw FaultPlanError("\(path).kind: missing; one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let kind = FaultKind(rawValue: kindName) else {
            let hint = KeySuggestion.closest(to: kindName, among: FaultKind.allCases.map(\.rawValue)).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw FaultPlanError("\(path).kind: unknown kind \"\(kindName)\"\(hint)")
        }
        var endpoints: Set<SimulatorEndpoint> = []
        let names: [JSONValue] = members["endpoint"].map { $0.arrayValue ?? [$0] } ?? []
        for name in names {
            guard let text = name.stringValue else { throw FaultPlanError("\(path).endpoint: must be a name or a list of names") }
            if text == "*" { continue }
            guard let endpoint = SimulatorEndpoint(rawValue: text) else {
                let all = SimulatorEndpoint.allCases.map(\.rawValue)
                let hint = KeySuggestion.closest(to: text, among: all).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw FaultPlanError("\(path).endpoint: unknown endpoint \"\(text)\"\(hint); one of \(all.joined(separator: ", ")) or *")
            }
            endpoints.insert(endpoint)
        }
        if kind.isCreateOnly, !(endpoints.isEmpty || endpoints == [.create]) {
            throw FaultPlanError("\(path): \(kind.rawValue) only applies to the create endpoint")
        }
        func number(_ key: String) throws(FaultPlanError) -> Double? {
            guard let value = members[key], value != .null else { return nil }
            guard let number = value.doubleValue, number.isFinite, number >= 0 else {
                throw FaultPlanError("\(path).\(key): must be a number ≥ 0")
            }
            return number
        }
        let rate = try number("rate") ?? 1
        guard rate <= 1 else { throw FaultPlanError("\(path).rate: must be between 0 and 1") }
        let after = Int(try number("after") ?? 0)
        let times = try number("times").map { Int($0) }
        let status = try number("status").map { Int($0) }
        let retryAfter = try number("retry_after")
        let delaySeconds = try number("delay_seconds") ?? 5
        let afterSeconds = try number("after_seconds")
        if let status, !(100...599).contains(status) {
            throw FaultPlanError("\(path).status: \(status) is not an HTTP status")
        }
        self.init(
            endpoints: endpoints, kind: kind, rate: rate, after: after, times: times, status: status,
            retryAfter: members["retry_after"] == nil ? 1 : retryAfter, delaySeconds: delaySeconds,
            afterSeconds: afterSeconds, message: members["message"]?.stringValue)
    }

    /// The rule as it is written in a fault file.
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "endpoint": endpoints.isEmpty ? "*" : .array(endpoints.map(\.rawValue).sorted().map(JSONValue.string)),
            "kind": .string(kind.rawValue), "rate": .number(rate), "after": .number(Double(after)),
            "delay_seconds": .number(delaySeconds),
        ]
        members["times"] = times.map { .number(Double($0)) } ?? .null
        members["status"] = status.map { .number(Double($0)) } ?? .null
        members["retry_after"] = retryAfter.map(JSONValue.number) ?? .null
        members["after_seconds"] = afterSeconds.map(JSONValue.number) ?? .null
        members["message"] = message.map(JSONValue.string) ?? .null
        return .object(members)
    }
}
