import Foundation

/// Runs the built `ergon` executable, as a user would.
enum ErgonBinary {
    /// `.build/debug/ergon` of this package.
    static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/ergon").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `ergon ARGS` to completion in `directory`.
    static func run(_ arguments: [String], in directory: String? = nil) throws -> Result {
        // Standard error goes to a file, so neither stream can fill up and block the child
        // while the other is read.
        let errPath = NSTemporaryDirectory() + "ergon-stderr-" + UUID().uuidString
        let process = try start(arguments, in: directory, stderrFile: errPath)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let outData = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `ergon ARGS` with piped output (or output to `logFile`).
    static func start(
        _ arguments: [String], in directory: String? = nil, logFile: String? = nil, stderrFile: String? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            let handle = FileHandle(forWritingAtPath: logFile)!
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = Pipe()
            if let stderrFile {
                _ = FileManager.default.createFile(atPath: stderrFile, contents: nil)
                process.standardError = FileHandle(forWritingAtPath: stderrFile)!
            } else {
                process.standardError = FileHandle.nullDevice
            }
        }
        try process.run()
        return process
    }

    /// The last lines of a log file, for a failure message.
    static func tail(of path: String, lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no file at \(path))"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
