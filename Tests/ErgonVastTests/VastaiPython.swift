import Foundation
import Testing

@testable import ErgonVast

/// Runs the real `vastai` 1.9.1 query parser, the reference our `OfferQuery` must agree with.
///
/// The interpreter is `$ERGON_VASTAI_PYTHON`, else `.build/vastai-venv/bin/python` in the package.
/// Without one the parity tests fail, unless `ERGON_ALLOW_NO_VASTAI=1` says that is expected.
enum VastaiPython {
    /// What the reference parser did with one query.
    enum Outcome: Equatable {
        case parsed(JSONValue)
        case rejected(String)
    }

    /// The reference tables and one outcome per query, in order.
    struct Report {
        var version: String
        var fields: [String]
        var aliases: JSONValue
        var multipliers: JSONValue
        var outcomes: [Outcome]
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var interpreter: URL? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["ERGON_VASTAI_PYTHON"], !path.isEmpty {
            // A wrong path counts as missing, so the failure says what to fix.
            return FileManager.default.isExecutableFile(atPath: path) ? URL(fileURLWithPath: path) : nil
        }
        let venv = packageRoot.appendingPathComponent(".build/vastai-venv/bin/python")
        return FileManager.default.isExecutableFile(atPath: venv.path) ? venv : nil
    }

    /// True when the reference cannot run and the environment says that is fine.
    static var skipped: Bool {
        interpreter == nil && ProcessInfo.processInfo.environment["ERGON_ALLOW_NO_VASTAI"] == "1"
    }

    static var missingMessage: String {
        let given = ProcessInfo.processInfo.environment["ERGON_VASTAI_PYTHON"].map { " (ERGON_VASTAI_PYTHON=\($0) is not an executable)" } ?? ""
        return """
            the vastai 1.9.1 reference parser is needed\(given): set ERGON_VASTAI_PYTHON to a python with \
            `pip install vastai==1.9.1`, or create \(packageRoot.path)/.build/vastai-venv \
            (set ERGON_ALLOW_NO_VASTAI=1 to skip these tests)
            """
    }

    // Parses each line of the input file on a fresh copy of the CLI's defaults and prints one JSON
    // line per query; the CLI's "unrecognized field" warning goes to stderr and is dropped.
    private static let script = #"""
        import contextlib, io, json, sys
        from importlib.metadata import version
        from vastai.api.query import parse_query, offers_fields, offers_alias, offers_mult
        print(json.dumps({"version": version("vastai"), "fields": sorted(offers_fields),
                          "aliases": offers_alias, "mult": offers_mult}))
        with open(sys.argv[1], encoding="utf-8") as source:
            queries = source.read().split("\n")
        for query in queries:
            defaults = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
            try:
                with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                    result = parse_query(query, defaults, offers_fields, offers_alias, offers_mult)
                print(json.dumps({"ok": result}, allow_nan=False))
            except Exception as error:
                print(json.dumps({"error": type(error).__name__ + ": " + str(error)}))
        """#

    /// Runs the reference parser over `queries` (no newlines inside a query) in one process.
    static func run(_ queries: [String]) throws -> Report {
        guard let interpreter else { throw ReferenceMissing() }
        let input = FileManager.default.temporaryDirectory
            .appendingPathComponent("ergon-offer-queries-\(UUID().uuidString).txt")
        try queries.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }

        let process = Process()
        process.executableURL = interpreter
        process.arguments = ["-c", script, input.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ReferenceFailed(status: process.terminationStatus) }

        var lines = try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in try JSONValue.decode(Data(line.utf8)) }
        guard !lines.isEmpty else { throw ReferenceFailed(status: 0) }
        let header = lines.removeFirst()
        let outcomes = lines.map { line -> Outcome in
            if let parsed = line["ok"] { return .parsed(parsed) }
            return .rejected(line["error"]?.stringValue ?? "?")
        }
        return Report(
            version: header["version"]?.stringValue ?? "?",
            fields: header["fields"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            aliases: header["aliases"] ?? .null, multipliers: header["mult"] ?? .null, outcomes: outcomes)
    }

    struct ReferenceMissing: Error, CustomStringConvertible {
        var description: String { VastaiPython.missingMessage }
    }

    struct ReferenceFailed: Error, CustomStringConvertible {
        var status: Int32
        var description: String { "the vastai reference script failed (exit status \(status))" }
    }
}
