import ErgonVast
import Foundation

/// Which failures the simulator injects, where and how often, with its own seed so a run with the
/// same requests fails the same way.
///
/// A fault file is JSON:
///
/// ```json
/// {
///   "seed": 42,
///   "faults": [
///     {"endpoint": "search", "kind": "rate_limit", "rate": 0.3, "retry_after": 2},
///     {"endpoint": ["list", "show"], "kind": "server_error", "rate": 0.05, "status": 502},
///     {"endpoint": "create", "kind": "offer_taken", "rate": 0.1},
///     {"kind": "stuck_loading", "after": 2, "times": 1},
///     {"kind": "host_offline", "rate": 0.1, "after_seconds": 30},
///     {"endpoint": "*", "kind": "auth_error", "rate": 0.01}
///   ]
/// }
/// ```
///
/// - `seed` (optional): the seed of fault decisions; the simulator's seed when absent.
/// - `faults[]` — `kind` (required): one of ``FaultKind`` (`rate_limit`, `server_error`,
///   `soft_error`, `auth_error`, `delay`, `offer_taken`, `error_with_contract`, `stuck_loading`,
///   `oci_failure`, `host_offline`, `interrupted`, `gpu_check_failure`); `endpoint`: a name of ``SimulatorEndpoint``
///   (`user`, `search`, `create`, `list`, `show`, `destroy`, `label`, `state`, `logs`,
///   `log_result`, `other`), a list of them, or `*` (default; create-only kinds imply `create`);
///   `rate` 0–1 (default 1); `after`: matching requests let through first (default 0); `times`:
///   the most times it fires (default unlimited); `status`; `retry_after` seconds (default 1, null
///   for no header); `delay_seconds` (default 5); `after_seconds` (default half the run);
///   `message`.
///
/// Rules are tried in order for each request; the first that fires decides. Each rule draws from
/// the seeded generator only when it applies, so adding a rule for one endpoint does not change
/// the decisions on others.
public struct FaultPlan: Sendable, Equatable {
    /// The rules, tried in order.
    public var rules: [FaultRule]
    /// The seed of fault decisions; nil uses the simulator's seed.
    public var seed: UInt64?

    /// A plan.
    public init(rules: [FaultRule] = [], seed: UInt64? = nil) {
        self.rules = rules
        self.seed = seed
    }

    /// No faults.
    public static let none = FaultPlan()

    /// Reads a fault document; `source` names it in errors (a file path).
    public init(json: JSONValue, source: String = "faults") throws(FaultPlanError) {
        guard case .object(let members) = json else { throw FaultPlanError("\(source): must be a JSON object with \"faults\"") }
        for key in members.keys.sorted() where key != "seed" && key != "faults" {
            throw FaultPlanError("\(source): unknown key \"\(key)\" (expected \"seed\" and \"faults\")")
        }
        var seed: UInt64?
        if let value = members["seed"], value != .null {
            guard let number = value.intValue, number >= 0 else { throw FaultPlanError("\(source).seed: must be an integer ≥ 0") }
            seed = UInt64(number)
        }
        guard let list = (members["faults"] ?? .array([])).arrayValue else {
            throw FaultPlanError("\(source).faults: must be a list of rules")
        }
        var rules: [FaultRule] = []
        for (index, item) in list.enumerated() {
            rules.append(try FaultRule(json: item, path: "\(source).faults[\(index)]"))
        }
        self.init(rules: rules, seed: seed)
    }

    /// Reads a fault file.
    public init(contentsOf url: URL) throws(FaultPlanError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FaultPlanError("\(url.path): cannot read it (\(error.localizedDescription))")
        }
        let json: JSONValue
        do {
            json = try JSONValue.decode(data)
        } catch {
            throw FaultPlanError("\(url.path): not valid JSON (\(error))")
        }
        try self.init(json: json, source: url.path)
    }

    /// The plan as a fault document.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["faults": .array(rules.map(\.json))]
        members["seed"] = seed.map { .number(Double($0)) } ?? .null
        return .object(members)
    }
}

extension FaultRule {
    /// A rule from a short command-line spelling: `KIND[:RATE]` or `ENDPOINT:KIND[:RATE]`
    /// (`search:rate_limit:0.2`, `create:offer_taken`, `server_error:0.05`).
    public init(spec: String) throws(FaultPlanError) {
        let parts = spec.split(separator: ":").map(String.init)
        var json: [String: JSONValue] = [:]
        var rest = parts[...]
        if let first = rest.first, FaultKind(rawValue: first) == nil {
            json["endpoint"] = .string(first)
            rest = rest.dropFirst()
        }
        guard let kind = rest.first else { throw FaultPlanError("--fault \(spec): expected [ENDPOINT:]KIND[:RATE]") }
        json["kind"] = .string(kind)
        rest = rest.dropFirst()
        if let rate = rest.first {
            guard let value = Double(rate) else { throw FaultPlanError("--fault \(spec): rate \"\(rate)\" is not a number") }
            json["rate"] = .number(value)
            rest = rest.dropFirst()
        }
        guard rest.isEmpty else { throw FaultPlanError("--fault \(spec): expected [ENDPOINT:]KIND[:RATE]") }
        try self.init(json: .object(json), path: "--fault \(spec)")
    }
}
