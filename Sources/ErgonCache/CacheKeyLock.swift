import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock on one cache key (`locks/<key>.lock`), held while the key's files change:
/// a download, a lease taken on the entry, an eviction. It is a `flock`, so it also keeps an
/// operator's `ergon cache prune` in another process off what the agent is writing.
enum CacheKeyLock {
    /// Runs `body` holding the lock, or returns nil without running it when another holder
    /// (this process or another) has it.
    static func ifFree<Result>(_ path: String, _ body: () throws -> Result) throws -> Result? {
        guard let fd = try tryLock(path) else { return nil }
        defer { close(fd) }
        return try body()
    }

    /// Waits until the lock is free (polling, so the wait stays cancellable), then runs `body`
    /// holding it. `onWait` is called once when the lock is found taken.
    static func waiting<Result>(
        _ path: String, onWait: () -> Void, _ body: () async throws -> Result
    ) async throws -> Result {
        let fd = try await lock(path, onWait: onWait)
        defer { close(fd) }
        return try await body()
    }

    private static func lock(_ path: String, onWait: () -> Void) async throws -> Int32 {
        if let fd = try tryLock(path) { return fd }
        onWait()
        while true {
            try await Task.sleep(for: .milliseconds(100))
            if let fd = try tryLock(path) { return fd }
        }
    }

    /// Takes the lock without waiting; nil when it is taken.
    private static func tryLock(_ path: String) throws -> Int32? {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CacheFileError(path: path, errno: errno) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                close(fd)
                if code == EINTR { continue }
                if code == EWOULDBLOCK { return nil }
                throw CacheFileError(path: path, errno: code)
            }
            // A holder may have removed the file (an eviction) after this open: the lock then
            // guards nothing anyone else sees. Start again on the file now at `path`.
            var opened = stat()
            var named = stat()
            if fstat(fd, &opened) == 0, stat(path, &named) == 0, opened.st_ino == named.st_ino, opened.st_dev == named.st_dev {
                return fd
            }
            close(fd)
        }
    }
}

/// A file-system operation of the cache failed.
struct CacheFileError: Error, CustomStringConvertible {
    var path: String
    var reason: String

    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    init(path: String, errno code: Int32) {
        self.init(path: path, reason: String(cString: strerror(code)))
    }

    /// Wraps any error of a file-system call on `path`.
    init(path: String, _ error: any Error) {
        if let error = error as? CacheFileError {
            self = error
        } else {
            self.init(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    var description: String { "\(path): \(reason)" }
}
