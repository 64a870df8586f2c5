import ErgonCore

extension ImageReference {
    /// The `fromImage` of a pull: the repository with its registry when it is not Docker Hub.
    public var fromImage: String {
        registry == "docker.io" ? repository : "\(registry)/\(repository)"
    }

    /// The `tag` of a pull: the digest when there is one, else the tag.
    public var pullTag: String { digest ?? tag ?? "latest" }

    /// True when `host` (as written in `docker.registries`) names this reference's registry.
    public func isServed(by host: String) -> Bool {
        Self.canonicalRegistry(host) == registry
    }
}
