/// An image reference normalized the way `docker pull` reads it: Docker Hub when no registry
/// is named, `library/` for its official images, the tag `latest` when neither a tag nor a
/// digest is given. The one parser of image names: Docker pulls and registry lookups use it.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// The registry as references and `vast_api.registries` name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    public var registry: String
    /// The repository inside the registry (`library/ubuntu`).
    public var repository: String
    /// The tag; nil when only a digest is given.
    public var tag: String?
    /// The manifest digest (`sha256:…`); when set it wins over the tag, as in Docker.
    public var digest: String?

    public init(registry: String, repository: String, tag: String? = nil, digest: String? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses `text` (`ubuntu`, `org/img:1`, `ghcr.io/org/img@sha256:…`, `localhost:5000/img`).
    public init(parsing text: String) throws(ImageReferenceError) {
        func bad(_ why: String) -> ImageReferenceError { ImageReferenceError(message: "invalid image reference \"\(text)\": \(why)") }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let value = String(rest[rest.index(after: at)...])
            guard Self.isDigest(value) else { throw bad("\"\(value)\" is not a digest (sha256:<64 hex digits>)") }
            digest = value
            rest = rest[..<at]
        }
        var tag: String?
        let nameStart = rest.lastIndex(of: "/").map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[nameStart...].lastIndex(of: ":") {
            let value = String(rest[rest.index(after: colon)...])
            guard Self.isTag(value) else { throw bad("\"\(value)\" is not a valid tag") }
            tag = value
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = "docker.io"
        if components.count > 1, components[0].contains(".") || components[0].contains(":") || components[0] == "localhost" {
            registry = Self.canonicalRegistry(components.removeFirst())
        }
        guard !components.isEmpty, components.allSatisfy(Self.isPathComponent) else {
            throw bad("repository names are lowercase letters, digits and separators (. _ -) between slashes")
        }
        if registry == "docker.io", components.count == 1 { components.insert("library", at: 0) }
        self.init(
            registry: registry, repository: components.joined(separator: "/"),
            tag: tag ?? (digest == nil ? "latest" : nil), digest: digest)
    }

    /// What the manifest is fetched by: the digest when there is one, else the tag.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    /// Where the registry's API answers: Docker Hub's API is not on `docker.io` itself.
    public var apiHost: String { registry == "docker.io" ? "registry-1.docker.io" : registry }

    /// Plain HTTP only for registries on this machine, HTTPS everywhere else (Docker's default).
    public var baseURL: String { (Self.isLoopback(host: registry) ? "http://" : "https://") + apiHost }

    public var description: String {
        registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// A registry name as references and configuration files write it, in one form: lowercase,
    /// no scheme or path, and `docker.io` for Docker Hub's other names.
    public static func canonicalRegistry(_ name: String) -> String {
        var host = Substring(name.lowercased())
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host = host.dropFirst(scheme.count) }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(host)
        }
    }

    /// True for `localhost`, `127.x.x.x` and `::1`, with or without a port.
    public static func isLoopback(host: String) -> Bool {
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            name = name.dropFirst().prefix { $0 != "]" }
        } else if let colon = name.firstIndex(of: ":") {
            name = name[..<colon]
        }
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }

    static func isDigest(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        guard parts[0].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || "+._-".contains($0)) }) else { return false }
        if parts[0] == "sha256" {
            return parts[1].count == 64 && parts[1].allSatisfy { $0.isHexDigit && !$0.isUppercase }
        }
        return parts[1].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "=_-".contains($0)) }
    }

    static func isTag(_ text: String) -> Bool {
        guard let first = text.first, text.count <= 128, first != ".", first != "-" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    static func isPathComponent(_ text: String) -> Bool {
        guard let first = text.first, let last = text.last else { return false }
        let isAlphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        return isAlphanumeric(first) && isAlphanumeric(last)
            && text.allSatisfy { isAlphanumeric($0) || "._-".contains($0) }
    }
}

/// An image name that cannot be parsed, with the reason.
public struct ImageReferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension ImageReference {
    /// The one spelling of `image`: `ubuntu`, `ubuntu:latest` and `docker.io/library/ubuntu:latest`
    /// are the same image. Unparsable names stay as written.
    public static func canonical(_ image: String) -> String {
        (try? ImageReference(parsing: image))?.description ?? image
    }
}
