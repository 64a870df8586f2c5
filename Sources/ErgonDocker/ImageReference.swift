/// An image reference split the way the engine's pull and the registry auth need it.
public struct ImageReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry host (`docker.io` when the reference names none).
    public var registry: String
    /// The repository, without the registry (`library/busybox` is left as written: `busybox`).
    public var repository: String
    /// The tag, or nil when a digest is given.
    public var tag: String?
    /// The digest (`sha256:…`), when given.
    public var digest: String?

    /// Parses `[registry/]repository[:tag][@digest]`; a reference with neither tag nor digest means `latest`.
    public init(_ reference: String) {
        var rest = Substring(reference)
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        // A tag is a `:` after the last `/` (a `:` before it belongs to a registry port).
        let lastSlash = rest.lastIndex(of: "/")
        let nameStart = lastSlash.map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[nameStart...].lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        } else if digest == nil {
            tag = "latest"
        }
        let parts = rest.split(separator: "/", maxSplits: 1)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            registry = String(parts[0])
            repository = String(parts[1])
        } else {
            registry = "docker.io"
            repository = String(rest)
        }
    }

    /// The `fromImage` of a pull: the repository with its registry when one was written.
    public var fromImage: String {
        registry == "docker.io" ? repository : "\(registry)/\(repository)"
    }

    /// The `tag` of a pull: the digest when there is one, else the tag.
    public var pullTag: String { digest ?? tag ?? "latest" }

    /// True when `host` names this reference's registry (Docker Hub answers to several names).
    public func isServed(by host: String) -> Bool {
        let hub: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"]
        if registry == "docker.io" { return hub.contains(host.lowercased()) }
        return registry.lowercased() == host.lowercased()
    }

    public var description: String {
        var text = fromImage
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
