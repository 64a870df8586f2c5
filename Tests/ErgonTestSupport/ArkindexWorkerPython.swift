import Foundation
import Testing

/// The real worker side: a Python with arkindex-base-worker 0.6.0 (and arkindex-client), named
/// by `ERGON_ARKINDEX_PYTHON` (set by `Scripts/test`). Tests that need it are skipped when it is
/// missing, unless `ERGON_REQUIRE_ARKINDEX=1`, where they fail instead.
public enum ArkindexWorkerPython {
    public static var path: String? {
        ProcessInfo.processInfo.environment["ERGON_ARKINDEX_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var isRequired: Bool { ProcessInfo.processInfo.environment["ERGON_REQUIRE_ARKINDEX"] == "1" }

    public static let setupHint = "run `source Scripts/lib/prerequisites.sh; source Scripts/lib/arkindex-worker.sh; ergon_arkindex_worker`"

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// Throws when the Python is missing and required; true when it can run, false to skip.
    public static func shouldRun() throws -> Bool {
        guard let path else {
            if isRequired { throw Unavailable(description: "ERGON_REQUIRE_ARKINDEX=1 but ERGON_ARKINDEX_PYTHON is not set; \(setupHint)") }
            return false
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            if isRequired { throw Unavailable(description: "ERGON_ARKINDEX_PYTHON=\(path) is not an executable; \(setupHint)") }
            return false
        }
        return true
    }

    /// What a script printed and how it ended.
    public struct Run: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs `script` with that Python and exactly `environment` (plus PATH and HOME), output and
    /// errors together.
    public static func run(_ script: String, environment: [String: String]) throws -> Run {
        guard let path else { throw Unavailable(description: "ERGON_ARKINDEX_PYTHON is not set; \(setupHint)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-c", script]
        var env = environment
        let own = ProcessInfo.processInfo.environment
        env["PATH"] = own["PATH"] ?? "/usr/bin:/bin"
        env["HOME"] = own["HOME"] ?? "/tmp"
        process.environment = env
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-py-\(UUID())")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return Run(status: process.terminationStatus, output: String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when the arkindex-base-worker Python is there; with `ERGON_REQUIRE_ARKINDEX=1`
    /// a missing one fails the test instead of skipping it.
    public static var arkindexWorker: Self {
        .enabled(
            Comment(rawValue: "needs arkindex-base-worker 0.6.0 in $ERGON_ARKINDEX_PYTHON: \(ArkindexWorkerPython.setupHint); set ERGON_REQUIRE_ARKINDEX=1 to fail instead")
        ) {
            try ArkindexWorkerPython.shouldRun()
        }
    }
}
