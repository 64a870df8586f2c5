/// How an image starts when nothing overrides it: its `ENTRYPOINT`, `CMD` and `WORKDIR`.
public struct ImageLaunchConfig: Sendable, Equatable {
    /// The image's entrypoint; `[]` when it has none.
    public var entrypoint: [String]
    /// The image's default command; `[]` when it has none.
    public var cmd: [String]
    /// The image's working directory; nil when it sets none.
    public var workingDir: String?

    public init(entrypoint: [String] = [], cmd: [String] = [], workingDir: String? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.workingDir = workingDir
    }
}
