import Foundation

/// A local file opened once, without following a link, and sent by its open descriptor.
///
/// Artifact files lie in a folder the task controls. ``S3Body/file(path:offset:length:)``
/// opens its path again (to hash, then to stream), so a task that swapped the file for a link
/// after the agent looked at it could make the agent upload, say, its configuration. Sending
/// `/dev/fd/N` instead reopens the file this descriptor holds, whatever the path names by then
/// (as ``FileArtifactStore`` refuses links with `O_NOFOLLOW`).
final class PinnedFile {
    /// The path to hand to ``S3Body/file(path:offset:length:)``: the open file, not the name.
    let bodyPath: String
    /// The file's size when opened.
    let size: Int64
    private let fd: Int32

    /// Opens `path`; throws a message for the operator when it is missing, a link or not a regular file.
    init(path: String) throws(PinnedFileError) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "is a link (links are never followed)" : String(cString: strerror(errno))
            throw PinnedFileError(description: "\(path): \(reason)")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw PinnedFileError(description: "\(path): not a regular file")
        }
        self.fd = fd
        self.size = Int64(status.st_size)
        self.bodyPath = "/dev/fd/\(fd)"
    }

    deinit { close(fd) }
}

/// A file to store could not be opened as a regular file.
struct PinnedFileError: Error, CustomStringConvertible {
    let description: String
}
