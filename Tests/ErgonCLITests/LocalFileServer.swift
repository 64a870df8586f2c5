import ErgonTestSupport
import Foundation
import Testing

/// A real HTTP server for resource tests: Python's `http.server` on a loopback port, serving
/// one folder and logging each request line to a file, so tests can count downloads.
final class LocalFileServer: Sendable {
    let root: String
    let port: Int
    let logPath: String
    private let process: Process

    init(root: String) throws {
        self.root = root
        self.logPath = root + ".requests.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let port = try freeLoopbackPort()
        self.port = port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root]
        process.standardError = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = Pipe()
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(15)
        while !Self.answers(port: port) {
            guard Date() < deadline, process.isRunning else { throw CLIFailure("python3 -m http.server did not start on \(port)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// How many GETs of `/name` the server answered.
    func requests(of name: String) -> Int {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "\n").filter { $0.contains("\"GET /\(name) HTTP") }.count
    }

    /// Stops the server (SIGKILL: processes started from async test code have SIGTERM blocked).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static func answers(port: Int) -> Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }
}
