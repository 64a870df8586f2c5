import Foundation

/// The file in `data_dir` that a submit, cancel or retry touches so a running agent on the
/// same machine ticks at once (the SQLite queue has no notifications of its own).
public struct WakeupFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Marks a change for the agent (creates the file or updates its modification time).
    public func touch() {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        // Writing a byte moves the modification time even within the same timestamp tick.
        var byte: UInt8 = 0x0a
        _ = pwrite(fd, &byte, 1, 0)
        futimens(fd, nil)
        close(fd)
    }

    /// The file's modification time in nanoseconds, or nil when it does not exist.
    public func stamp() -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    /// Calls `onChange` each time the file differs from `baseline` (then from its last seen
    /// state), checking every `interval`, until cancelled. Take the baseline with `stamp()`
    /// before reading the queue, so a touch in between is not missed.
    public func watch(
        from baseline: Int64?, every interval: Duration = .milliseconds(100), onChange: @Sendable () -> Void
    ) async {
        var last = baseline
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = stamp()
            if now != last {
                last = now
                onChange()
            }
        }
    }
}
