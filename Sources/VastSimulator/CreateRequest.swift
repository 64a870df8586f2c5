import ErgonCore
import ErgonVast

/// The body of `PUT /api/v0/asks/{id}/`, checked as the API checks it.
struct CreateRequest: Sendable {
    var image: String
    /// The environment, sorted by name (a JSON object keeps no order).
    var env: [(String, String)]
    var disk: Double
    var label: String?
    var runtype: String?
    var args: [String]?
    var onstart: String?
    var imageLogin: String?
    /// A bid price: the instance is interruptible.
    var price: Double?

    /// Limits on `env` the docs state (≤ 256 characters per `KEY=VALUE`, ≤ 32 KiB in all).
    struct EnvLimits: Sendable {
        var perEntry: Int?
        var total: Int?
    }

    init(json: JSONValue, envLimits: EnvLimits) throws(SimulatorAPIError) {
        guard case .object(let body) = json else { throw .invalidArguments("the request body must be a JSON object") }
        guard let image = body["image"]?.stringValue, !image.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidArguments("image: required (the docker image to run)")
        }
        self.image = image
        switch body["env"] ?? .null {
        case .null:
            env = []
        case .object(let members):
            var pairs: [(String, String)] = []
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .string(let text): pairs.append((key, text))
                case .number, .bool: pairs.append((key, value.jsonText))
                default: throw .invalidArguments("env.\(key): values must be strings")
                }
            }
            env = pairs
        default:
            throw .invalidArguments("env: must be a JSON object of variables, got \(body["env"]!.jsonText.prefix(40))")
        }
        var total = 0
        for (key, value) in env {
            let size = key.utf8.count + 1 + value.utf8.count
            total += size
            if let limit = envLimits.perEntry, size > limit {
                throw .invalidArguments("env.\(key): \(size) characters; an entry may have at most \(limit)")
            }
        }
        if let limit = envLimits.total, total > limit {
            throw .invalidArguments("env: \(total) characters in all; at most \(limit)")
        }
        switch body["disk"] ?? .number(10) {
        case .number(let value): disk = value
        case .string(let text) where Double(text) != nil: disk = Double(text)!
        default: throw .invalidArguments("disk: must be a number of GB")
        }
        guard disk >= 8 else { throw .invalidArguments("disk: \(disk) GB is too small; at least 8 GB") }
        label = try Self.optionalString(body, "label")
        if let label, label.count > 1024 { throw .invalidArguments("label: at most 1024 characters") }
        runtype = try Self.optionalString(body, "runtype")
        onstart = try Self.optionalString(body, "onstart")
        imageLogin = try Self.optionalString(body, "image_login")
        switch body["args"] ?? .null {
        case .null: args = nil
        case .array(let items):
            var strings: [String] = []
            for item in items {
                guard let text = item.stringValue else { throw .invalidArguments("args: must be a list of strings") }
                strings.append(text)
            }
            args = strings
        case .string(let text): args = [text]
        default: throw .invalidArguments("args: must be a list of strings")
        }
        switch body["price"] ?? .null {
        case .null: price = nil
        case .number(let value) where value > 0: price = value
        default: throw .invalidArguments("price: must be a positive number ($/hour)")
        }
    }

    private static func optionalString(_ body: [String: JSONValue], _ key: String) throws(SimulatorAPIError) -> String? {
        switch body[key] ?? .null {
        case .null: return nil
        case .string(let text): return text
        default: throw .invalidArguments("\(key): must be a string")
        }
    }

    /// The environment as a dictionary (later keys win; keys are unique in JSON anyway).
    var environment: [String: String] {
        Dictionary(env, uniquingKeysWith: { _, last in last })
    }

    /// True when the command runs as given (`args` runtype): what batch work uses.
    var isArgsRuntype: Bool {
        runtype == nil ? args != nil : runtype == "args"
    }

    /// True when the create runs a shell script through `onstart` (`/bin/sh -c SCRIPT …`): the
    /// shape of Ergon's launch wrapper.
    var runsShellScript: Bool {
        guard let onstart, !onstart.isEmpty, let args, args.count >= 2 else { return false }
        return args[0] == "-c"
    }

    /// True when the wrapper's script runs an acceptance check before the command.
    var runsAcceptanceCheck: Bool {
        runsShellScript && args?[1].contains(AcceptanceMarker.tag) == true
    }
}
