import Foundation

/// Resolves the paths a config file names: relative ones against the file's own
/// directory (so a config works wherever the agent is started), `~/` against `HOME`.
struct ConfigPaths {
    /// The absolute directory holding the config file.
    let directory: String
    /// `HOME` from the environment the config is loaded with.
    let home: String?

    /// `.ergon` next to the config file.
    var defaultDataDir: String { Self.standardized(directory + "/.ergon") }

    /// The node's path, made absolute.
    func resolve(_ node: DocumentNode) throws(DocumentNode.Fault) -> String {
        try resolve(node.nonEmptyString("a path"), at: node)
    }

    /// `path` made absolute; faults are reported at `node`.
    func resolve(_ path: String, at node: DocumentNode) throws(DocumentNode.Fault) -> String {
        if path == "~" || path.hasPrefix("~/") {
            guard let home, home.hasPrefix("/") else {
                throw node.fault(.invalidValue, "cannot expand \"~\": HOME is not set to an absolute path (write an absolute path instead)")
            }
            return Self.standardized(home + path.dropFirst())
        }
        if path.hasPrefix("/") { return Self.standardized(path) }
        return Self.standardized(directory + "/" + path)
    }

    /// The absolute path with `.`, `..` and repeated or trailing slashes removed, without
    /// looking at the file system (the directories may not exist yet).
    static func standardized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
            } else {
                parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
