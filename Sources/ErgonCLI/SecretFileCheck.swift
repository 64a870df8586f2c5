import ErgonCore
import Foundation

/// Whether a configuration file that others can read holds a secret written in it, rather
/// than taken from the environment (`${VAR}`).
enum SecretFileCheck {
    /// The secrets a configuration holds, by the key that holds them.
    static func secrets(of config: ErgonConfig) -> [(key: String, value: String)] {
        var found: [(String, String?)] = [
            ("vast_api.api_key", config.vast.apiKey),
            ("s3.secret_access_key", config.s3.secretAccessKey?.value),
            ("s3.session_token", config.s3.sessionToken?.value),
            ("server.operator_token", config.server.operatorToken?.value),
        ]
        if case .postgres(let location) = config.queue { found.append(("queue (password)", location.password)) }
        found += config.docker.registries.map { ("docker.registries[\($0.host)].password", $0.password) }
        found += config.vast.registries.map { ("vast_api.registries[\($0.host)].password", $0.password) }
        return found.compactMap { key, value in value.flatMap { $0.count >= 4 ? (key, $0) : nil } }
    }

    /// A warning when the file at `path` can be read by its group or by anyone and holds one
    /// of `config`'s secrets as written text; nil otherwise.
    static func warning(path: String, config: ErgonConfig) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o044 != 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        let held = secrets(of: config).filter { text.contains($0.value) }.map(\.key)
        guard !held.isEmpty else { return nil }
        let who = mode & 0o004 != 0 ? "anyone on this host" : "its group"
        return "\(path) can be read by \(who) (mode \(String(mode & 0o777, radix: 8))) and holds \(held.joined(separator: ", ")): "
            + "run chmod 600 \(path), or write the secret as ${VAR} and keep it in the environment (an EnvironmentFile of mode 0600)"
    }
}
