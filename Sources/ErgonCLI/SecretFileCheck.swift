import ErgonCore
import Foundation

/// Whether a configuration file that others can read holds a secret written in it, rather
/// than taken from the environment (`${VAR}`), and whether the environment file the secrets
/// come from (`ERGON_ENV_FILE`, the service's `EnvironmentFile`) can be read by others.
enum SecretFileCheck {
    /// The variable naming the environment file the agent's secrets come from; the unit
    /// `Scripts/install-agent` writes sets it.
    static let environmentFileVariable = "ERGON_ENV_FILE"

    /// The secrets a configuration holds, by the key that holds them.
    static func secrets(of config: ErgonConfig) -> [(key: String, value: String)] {
        var found: [(String, String?)] = [
            ("vast_api.api_key", config.vast.apiKey),
            ("s3.secret_access_key", config.s3.secretAccessKey?.value),
            ("s3.session_token", config.s3.sessionToken?.value),
            ("server.operator_token", config.server.operatorToken?.value),
            ("notify.secret", config.notify.secret?.value),
        ]
        found += config.notify.headers.sorted { $0.key < $1.key }.map { ("notify.headers.\($0.key)", $0.value.value) }
        if case .postgres(let location) = config.queue { found.append(("queue (password)", location.password)) }
        found += config.docker.registries.map { ("docker.registries[\($0.host)].password", $0.password) }
        found += config.vast.registries.map { ("vast_api.registries[\($0.host)].password", $0.password) }
        return found.compactMap { key, value in value.flatMap { $0.count >= 4 ? (key, $0) : nil } }
    }

    /// Every warning for the configuration at `configPath`: its own secrets, then the
    /// environment file `environment` names in `ERGON_ENV_FILE`, if any.
    static func warnings(configPath: String, config: ErgonConfig, environment: [String: String]) -> [String] {
        var found = [warning(path: configPath, config: config)]
        if let envFile = environment[environmentFileVariable], !envFile.isEmpty {
            found.append(environmentFileWarning(path: envFile, config: config))
        }
        return found.compactMap { $0 }
    }

    /// A warning when the file at `path` can be read by its group or by anyone and holds one
    /// of `config`'s secrets as written text; nil otherwise.
    static func warning(path: String, config: ErgonConfig) -> String? {
        guard let (mode, text) = readableByOthers(path) else { return nil }
        let held = secrets(of: config).filter { text.contains($0.value) }.map(\.key)
        guard !held.isEmpty else { return nil }
        return "\(path) can be read by \(who(mode)) (mode \(String(mode & 0o777, radix: 8))) and holds \(held.joined(separator: ", ")): "
            + "run chmod 600 \(path), or write the secret as ${VAR} and keep it in the environment (an EnvironmentFile of mode 0600)"
    }

    /// A warning when the environment file at `path` can be read by its group or by anyone
    /// and assigns a secret: a variable whose value is one of `config`'s secrets, or whose name
    /// says it is one (see ``namesSecret(_:)``) with a value. A file that does not exist is
    /// warned about too, since the check could not be made. Names variables, never values.
    static func environmentFileWarning(path: String, config: ErgonConfig) -> String? {
        guard FileManager.default.fileExists(atPath: path) else {
            return "\(environmentFileVariable) names \(path), which does not exist: its permissions were not checked"
        }
        guard let (mode, text) = readableByOthers(path) else { return nil }
        let values = Set(secrets(of: config).map(\.value))
        let held = assignments(in: text).filter { name, value in
            values.contains(value) || (namesSecret(name) && !value.isEmpty)
        }.map(\.name)
        guard !held.isEmpty else { return nil }
        return "\(path) (\(environmentFileVariable)) can be read by \(who(mode)) (mode \(String(mode & 0o777, radix: 8))) and assigns "
            + "\(held.joined(separator: ", ")): run chmod 600 \(path) (systemd reads an EnvironmentFile as root, before the agent starts)"
    }

    /// Whether a variable's name says it holds a secret: it mentions a secret, a token or a
    /// password, or ends in `KEY` (`VAST_API_KEY`; not `AWS_ACCESS_KEY_ID`, which is not one).
    static func namesSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["SECRET", "TOKEN", "PASSWORD", "PASSWD"].contains { upper.contains($0) } || upper.hasSuffix("KEY")
    }

    /// The `NAME=value` assignments of an environment file, as systemd's `EnvironmentFile`
    /// reads them: blank lines and `#` or `;` comments skipped, an optional `export `, the
    /// value's surrounding quotes removed.
    static func assignments(in text: String) -> [(name: String, value: String)] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            var line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), !line.hasPrefix(";") else { return nil }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { return nil }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            return name.isEmpty ? nil : (name, value)
        }
    }

    /// The mode and text of the file at `path` when its group or anyone can read it; nil when
    /// only its owner can, or it cannot be read.
    private static func readableByOthers(_ path: String) -> (mode: Int, text: String)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o044 != 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        return (mode, text)
    }

    private static func who(_ mode: Int) -> String { mode & 0o004 != 0 ? "anyone on this host" : "its group" }
}
