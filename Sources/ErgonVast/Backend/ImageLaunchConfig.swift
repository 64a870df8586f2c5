/// How an image starts when nothing overrides it: its `ENTRYPOINT`, `CMD` and `WORKDIR`.
public struct ImageLaunchConfig: Sendable, Equatable {
    /// The image's entrypoint; `[]` when it has none.
    public var entrypoint: [String]
    /// The image's default command; `[]` when it has none.
    public var cmd: [String]
    /// The image's working directory; nil when it sets none.
    public var workingDir: String?
    /// What a host downloads to run it: the sum of its layers' compressed sizes, from the
    /// manifest; nil when the registry did not say (a Docker schema 1 manifest).
    public var compressedBytes: Int64?

    public init(entrypoint: [String] = [], cmd: [String] = [], workingDir: String? = nil, compressedBytes: Int64? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.workingDir = workingDir
        self.compressedBytes = compressedBytes
    }
}
