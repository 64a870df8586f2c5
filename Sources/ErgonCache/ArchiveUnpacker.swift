import ErgonCore
import Foundation

/// Unpacks `.tar`, `.tar.gz` and `.tar.zst` archives with the system's GNU tar (and `zstd`).
///
/// An archive with a member named by an absolute path or through `..` is refused before anything
/// is extracted; extraction then keeps GNU tar's own protections (links that point out of the
/// folder are only created once every file is in place) and never restores the archive's owners.
public enum ArchiveUnpacker {
    /// Extracts `archive` into `folder` (created when missing). Throws `ResourceError(.unpackFailed, …)`
    /// naming the archive, with tar's own words, or `CancellationError` (tar is then killed).
    public static func unpack(_ archive: String, format: ArchiveFormat, into folder: String) async throws {
        let name = (archive as NSString).lastPathComponent
        var compression: [String] = []
        switch format {
        case .tar: break
        case .tarGzip: compression = ["-z"]
        case .tarZstd:
            guard executable(named: "zstd") != nil else {
                throw ResourceError(
                    .unpackFailed, "cannot unpack \(name): a .tar.zst archive needs the zstd program; install it (apt-get install zstd)")
            }
            compression = ["--zstd"]
        }
        guard let tar = executable(named: "tar") else {
            throw ResourceError(.unpackFailed, "cannot unpack \(name): no tar program; install it (apt-get install tar)")
        }
        let listing = try await run(tar, ["-t", "-f", archive] + compression)
        guard listing.status == 0 else {
            throw ResourceError(.unpackFailed, "cannot unpack \(name): tar cannot read it (exit \(listing.status)): \(listing.errors)")
        }
        if let member = unsafeMember(in: listing.output) {
            throw ResourceError(
                .unpackFailed, "cannot unpack \(name): the member \"\(member)\" would be written outside the folder")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ResourceError(.unpackFailed, "cannot unpack \(name): cannot create \(folder): \(error)")
        }
        let extraction = try await run(tar, ["-x", "-f", archive, "-C", folder, "--no-same-owner"] + compression)
        guard extraction.status == 0 else {
            throw ResourceError(.unpackFailed, "cannot unpack \(name) (tar exit \(extraction.status)): \(extraction.errors)")
        }
    }

    /// The first member of a `tar -t` listing named by an absolute path or through `..`.
    static func unsafeMember(in listing: String) -> String? {
        listing.split(separator: "\n").first { member in
            member.hasPrefix("/") || member.split(separator: "/").contains("..")
        }.map(String.init)
    }

    /// The program `name` on `PATH` (or in the usual folders when `PATH` is unset).
    static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What a program printed and how it ended.
    struct Outcome {
        var status: Int32
        var output: String
        /// The end of its standard error, trimmed.
        var errors: String
    }

    /// Runs `program` to its end without blocking a thread of the cooperative pool, stdin closed
    /// and output through files (a long listing cannot fill a pipe and stall the program).
    /// Cancelling the task kills the program.
    static func run(_ program: String, _ arguments: [String]) async throws -> Outcome {
        try Task.checkCancellation()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-tar-\(UUID().uuidString)")
        let outputFile = scratch.appendingPathExtension("out")
        let errorFile = scratch.appendingPathExtension("err")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil),
            FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        else {
            throw ResourceError(.unpackFailed, "cannot create files for tar's output in \(scratch.deletingLastPathComponent().path)")
        }
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorFile)
        defer {
            try? output.close()
            try? errors.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        // The C locale: messages in English, names listed byte for byte.
        process.environment = ProcessInfo.processInfo.environment.merging(["LC_ALL": "C"]) { $1 }
        let status: Int32 = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(
                        throwing: ResourceError(.unpackFailed, "cannot run \(program): \(error)"))
                }
            }
        } onCancel: {
            // SIGKILL, not terminate(): a program started from the concurrency pool's threads
            // inherits their blocked SIGTERM. What it half-unpacked is discarded anyway.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try Task.checkCancellation()
        let printed = String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self)
        let complaint = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
        return Outcome(
            status: status, output: printed,
            errors: String(complaint.suffix(2000)).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
