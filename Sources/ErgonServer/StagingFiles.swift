import Foundation

/// Temporary files of uploads and downloads in the server's upload directory. Named with a
/// prefix so files left by a crash are recognised and swept at the next start.
struct StagingFiles: Sendable {
    static let prefix = ".ergon-staging-"
    let directory: String

    /// A fresh path in the directory (created when missing).
    func newPath(_ purpose: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + Self.prefix + purpose + "-" + UUID().uuidString.lowercased()
    }

    /// Removes what earlier runs left behind (no request of this run is under way yet).
    func sweep() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(Self.prefix) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
