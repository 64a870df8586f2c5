/// Where the agent learns an image's entrypoint when a task does not set one: vast mode
/// replaces the entrypoint with its launch wrapper, so it must run the image's own itself.
public protocol ImageEntrypointSource: Sendable {
    /// The image's configured entrypoint (`[]` when it has none); nil when it cannot be known.
    func entrypoint(of image: String) async throws -> [String]?
}
