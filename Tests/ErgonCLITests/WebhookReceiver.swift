import ErgonTestSupport
import Foundation

/// A real HTTP listener for webhook tests: a small Python server on a loopback port that
/// answers the first `failures` POSTs with 500 and the rest with 200, and writes each request
/// (status given, headers, body) as one JSON line to a file.
final class WebhookReceiver: Sendable {
    let port: Int
    let logPath: String
    private let process: Process

    /// One request the receiver got.
    struct Request: Decodable {
        let status: Int
        let path: String
        let headers: [String: String]
        let body: String
    }

    static let script = """
        import http.server, json, sys
        port, log, failures = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        seen = [0]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen[0] += 1
                status = 500 if seen[0] <= failures else 200
                with open(log, "a") as f:
                    f.write(json.dumps({"status": status, "path": self.path, "headers": dict(self.headers),
                                        "body": body.decode()}) + "\\n")
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        open(log + ".ready", "w").close()
        server.serve_forever()
        """

    init(directory: String, failures: Int) throws {
        self.port = try freeLoopbackPort()
        self.logPath = directory + "/webhook.jsonl"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, String(port), logPath, String(failures)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = Pipe()
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: logPath + ".ready") {
            guard Date() < deadline, process.isRunning else { throw CLIFailure("the webhook receiver did not start on \(port)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/hooks/ergon?token=abc")! }

    /// Every request so far, in order.
    func requests() throws -> [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// Waits until `count` requests arrived (or `timeout` passed) and returns them.
    func waitForRequests(_ count: Int, timeout: TimeInterval = 20) async throws -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let got = try requests()
            if got.count >= count { return got }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try requests()
    }

    /// Stops the server (SIGKILL: processes started from async test code have SIGTERM blocked).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
