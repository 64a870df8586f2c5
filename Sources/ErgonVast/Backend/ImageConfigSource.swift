/// Where the agent learns how an image starts when a task does not say: vast mode replaces
/// the image's entrypoint with its launch wrapper, so the wrapper must run the image's own.
public protocol ImageConfigSource: Sendable {
    /// The entrypoint, Cmd and working directory `image` was built with; nil when they cannot be known.
    func configuration(of image: String) async throws -> ImageLaunchConfig?
}
