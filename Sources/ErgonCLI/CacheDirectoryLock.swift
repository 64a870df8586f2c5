import ErgonCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One agent per cache folder: an agent releases at start the holds of tasks it does not run,
/// which in a folder shared with another agent would be that agent's running tasks. Held (a
/// `flock` on `<cache.dir>/agent.lock`) until the process ends.
final class CacheDirectoryLock {
    private let descriptor: Int32

    /// Takes the lock, or throws naming `cache.dir` and the config file when another agent has it.
    init(config: ErgonConfig) throws {
        let directory = config.cacheDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EnvironmentError("\(config.source): cache.dir \(directory): cannot create it: \(error.localizedDescription)")
        }
        let path = directory + "/agent.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EnvironmentError("\(config.source): cache.dir \(directory): cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw EnvironmentError(
                "\(config.source): cache.dir \(directory) is in use by another agent; give each agent its own cache.dir (or data_dir)")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
