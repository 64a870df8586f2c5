import Foundation

/// Turns what a task left in its output folder (`/data/current`) into artifacts: only the
/// regular files at the top (the contract is flat). Folders, links and other kinds of file
/// are skipped and named, links are never followed, and names that could leave a folder
/// are refused.
public struct ArtifactCollector: Sendable {
    /// A file found in the output folder that becomes an artifact.
    public struct Found: Equatable, Sendable {
        public var name: ArtifactName
        public var path: String
    }

    /// What the scan found: the artifacts, and one line per entry it skipped.
    public struct Scan: Equatable, Sendable {
        public var files: [Found] = []
        public var skipped: [String] = []
        public init(files: [Found] = [], skipped: [String] = []) {
            self.files = files
            self.skipped = skipped
        }
    }

    public init() {}

    /// Scans `directory` (the task's own output folder on the host).
    public func scan(_ directory: String) throws -> Scan {
        var scan = Scan()
        var folder = stat()
        guard lstat(directory, &folder) == 0 else { return scan }
        // The task may have replaced its output folder with a link to a folder of the host:
        // it is never followed.
        guard folder.st_mode & S_IFMT == S_IFDIR else {
            scan.skipped.append("/data/current: not a folder (a link or a file); nothing was published")
            return scan
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        for entry in entries {
            let path = directory + "/" + entry
            var info = stat()
            guard lstat(path, &info) == 0 else {
                scan.skipped.append("\"\(entry)\": cannot be read (\(String(cString: strerror(errno))))")
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                do {
                    let name = try ArtifactName(entry)
                    // A file the agent cannot open is skipped and named, not retried forever.
                    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
                    guard fd >= 0 else {
                        scan.skipped.append("\"\(entry)\": cannot be read (\(String(cString: strerror(errno))))")
                        continue
                    }
                    close(fd)
                    scan.files.append(Found(name: name, path: path))
                } catch {
                    scan.skipped.append("\"\(entry)\": \(error.problem)")
                }
            case S_IFDIR:
                scan.skipped.append("\"\(entry)\": a folder (artifacts are the files at the top of /data/current)")
            case S_IFLNK:
                scan.skipped.append("\"\(entry)\": a link (links are never followed)")
            default:
                scan.skipped.append("\"\(entry)\": not a regular file")
            }
        }
        return scan
    }
}
