import Crypto
import ErgonCore
import ErgonServer
import ErgonVast
import Foundation
import Logging

/// Builds the agent's HTTP server (`server` settings) over the queue, the artifact store and
/// the logs the agent itself uses.
enum AgentServer {
    /// The server, or nil with `server.listen: off`. Warns about settings that leave rented
    /// hosts without a worker API. `metrics` renders `GET /metrics`.
    static func make(
        config: ErgonConfig, queue: any TaskQueue, artifacts: any ArtifactStore, resources: (any ResourceProvider)? = nil,
        logStore: any LogStore, metrics: (@Sendable () -> String)? = nil, shellProbe: ImageShellProbe? = nil, logger: Logger
    ) throws -> ErgonServer? {
        guard let listen = config.server.listen else {
            if config.mode == .vast {
                logger.warning("server.listen is off: vast tasks get no worker API, so a task with parents cannot fetch their artifacts")
            }
            return nil
        }
        if config.server.publicURL == nil {
            let who = config.mode == .vast ? "rented hosts" : "task containers"
            logger.warning("server.public_url is not set: \(who) are not given the worker API (ARKINDEX_API_URL); set it to the origin they reach \(listen) at")
        }
        let source = LogSource(spool: LogSpool(directory: config.spoolDirectory), store: logStore)
        let dependencies = ServerDependencies(
            queue: queue, artifacts: artifacts,
            readLog: { key, offset in try await source.read(key, from: offset)?.bytes },
            defaultMaxAttempts: config.scheduler.defaultMaxAttempts,
            uploadDirectory: config.dataDir + "/staging",
            uploadKey: try UploadKeyFile(path: config.dataDir + "/server/upload.key").load(),
            resources: resources, logger: Logger(label: "ergon.server"),
            reviewSubmission: { spec in await VastTaskCheck.review(spec, config: config, probe: shellProbe) })
        return ErgonServer(config: config.server, dependencies: dependencies, metrics: metrics)
    }
}

/// The key that signs the agent's own upload URLs, kept in `data_dir` (mode 0600) so URLs
/// handed out before a restart stay valid after it.
struct UploadKeyFile {
    let path: String

    /// The key in the file, or a new one written there. Agents sharing a data_dir that start
    /// together agree on one key: the first to create the file wins and the others read it.
    func load() throws -> SymmetricKey {
        do {
            for _ in 1...3 {
                if let key = stored() { return key }
                let key = SymmetricKey(size: .bits256)
                let bytes = key.withUnsafeBytes { Data($0) }
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                if FileManager.default.fileExists(atPath: path) {
                    // Not a key (a truncated write of an older version): replaced.
                    try DurableFile.write(bytes, to: path, mode: 0o600)
                    return key
                }
                if try DurableFile.create(bytes, at: path, mode: 0o600) { return key }
            }
        } catch {
            throw EnvironmentError("\(path): cannot write the server's upload key: \(error)")
        }
        throw EnvironmentError("\(path): the server's upload key keeps changing (another process is rewriting it)")
    }

    private func stored() -> SymmetricKey? {
        guard let data = FileManager.default.contents(atPath: path), data.count == 32 else { return nil }
        return SymmetricKey(data: data)
    }
}
