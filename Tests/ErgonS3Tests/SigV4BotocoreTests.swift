import Foundation
import Testing

@testable import ErgonS3

/// Random requests signed by us and by botocore's `S3SigV4Auth` (header signing) and
/// `S3SigV4QueryAuth` (pre-signing), which must agree byte for byte.
///
/// The requests come from a seeded generator (the same 200 on every run) and stress what S3
/// signing gets wrong most: keys with unicode, spaces and reserved characters, repeated and empty
/// query parameters, header values with runs of blanks, session tokens, signed and unsigned
/// payloads. One `python3` process signs them all.
@Suite("SigV4 against botocore", .botocore)
struct SigV4BotocoreTests {
    static let seed: UInt64 = 0x5EED_5164_0004
    static let count = 200

    @Test("200 random requests sign exactly as botocore signs them")
    func randomRequests() throws {
        var generator = SigV4SeededGenerator(seed: Self.seed)
        let cases = (0..<Self.count).map { _ in RandomSigningCase.make(using: &generator) }
        let reference = try BotocoreReference.sign(cases)
        #expect(reference.results.count == cases.count)

        var mismatches = 0
        for (index, (signingCase, theirs)) in zip(cases, reference.results).enumerated() {
            let differences = signingCase.differences(from: theirs)
            guard !differences.isEmpty else { continue }
            mismatches += 1
            if mismatches <= 5 {
                Issue.record(
                    Comment(
                        rawValue: "case \(index) of seed \(Self.seed) differs from botocore \(reference.version):\n"
                            + differences.joined(separator: "\n") + "\nrequest: \(signingCase.summary)"))
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) requests differ from botocore \(reference.version)")
    }
}

/// One random request with everything both signers need; encoded as JSON for the Python side.
private struct RandomSigningCase: Codable {
    var method: String
    var path: String
    var query: [[String]]
    var headers: [[String]]
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
    var region: String
    var epochSeconds: Double
    /// The body, base64; nil signs `UNSIGNED-PAYLOAD`.
    var body: String?
    var expires: Int
    /// Our encoded path, which botocore signs as given (it does not re-encode an S3 path).
    var encodedPath: String

    var request: SigV4Request {
        SigV4Request(
            method: method, path: path, query: query.map { ($0[0], $0[1]) }, headers: headers.map { ($0[0], $0[1]) })
    }

    var signer: SigV4Signer {
        SigV4Signer(
            credentials: S3Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken),
            region: region)
    }

    var date: Date { Date(timeIntervalSince1970: epochSeconds) }

    var payloadHash: String {
        body.map { SigV4Signer.sha256Hex(Data(base64Encoded: $0)!) } ?? SigV4Signer.unsignedPayload
    }

    var summary: String {
        "\(method) \(path.debugDescription) query \(query) headers \(headers) token \(sessionToken != nil) "
            + "payload \(payloadHash) at \(epochSeconds) in \(region)\nour canonical request:\n"
            + signer.canonicalRequest(for: request, payloadHash: payloadHash)
    }

    /// What differs between our signing and botocore's, one line each; empty when they agree.
    func differences(from theirs: BotocoreResult) -> [String] {
        if let error = theirs.error { return ["botocore failed: \(error)"] }
        var differences: [String] = []
        func compare(_ what: String, _ ours: String?, _ reference: String?) {
            if ours != reference {
                differences.append("\(what): ours \(ours.debugDescription), botocore \(reference.debugDescription)")
            }
        }
        compare("encoded target", request.encodedTarget, theirs.expectedTarget)

        let added = signer.signedHeaders(for: request, payloadHash: payloadHash, date: date)
        let ours = Dictionary(added.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        compare("x-amz-date", ours["x-amz-date"], theirs.amzDate)
        compare("x-amz-content-sha256", ours["x-amz-content-sha256"], theirs.contentSHA256)
        compare("x-amz-security-token", ours["x-amz-security-token"], theirs.securityToken)
        compare("authorization", ours["authorization"], theirs.authorization)

        let presigned = signer.presignedTarget(for: request, expires: expires, date: date)
        let (path, query) = presigned.firstIndex(of: "?").map { (presigned[..<$0], presigned[presigned.index(after: $0)...]) }
            ?? (presigned[...], "")
        compare("pre-signed path", String(path), theirs.presignedPath)
        compare(
            "pre-signed query (sorted)", query.split(separator: "&").map(String.init).sorted().joined(separator: "&"),
            (theirs.presignedQuery ?? []).sorted().joined(separator: "&"))
        return differences
    }
}

/// What botocore made of one case.
private struct BotocoreResult: Decodable {
    var error: String?
    /// `quote(path, safe="/~")` and botocore's own canonical query of the decoded items.
    var expectedTarget: String?
    var amzDate: String?
    var contentSHA256: String?
    var securityToken: String?
    var authorization: String?
    var presignedPath: String?
    var presignedQuery: [String]?
}

extension RandomSigningCase {
    /// A random request (see the suite's description for what it exercises).
    static func make(using generator: inout SigV4SeededGenerator) -> RandomSigningCase {
        var random = RandomPicker(generator: generator)
        defer { generator = random.generator }

        let method = random.pick(["GET", "PUT", "HEAD", "DELETE", "POST"])
        let path: String
        switch random.int(0..<10) {
        case 0: path = "/"
        case 1: path = "/" + random.pick(bucketNames)
        default:
            let segments = (0..<random.int(1..<5)).map { _ in random.int(0..<8) == 0 ? "" : random.word(from: keyPieces, count: 1..<4) }
            path = "/" + random.pick(bucketNames) + "/" + segments.joined(separator: "/") + (random.int(0..<6) == 0 ? "/" : "")
        }

        var query: [[String]] = []
        for _ in 0..<random.int(0..<6) {
            if !query.isEmpty, random.int(0..<4) == 0 {
                // A repeated name, with another value or the same one.
                let earlier = random.pick(query)
                query.append([earlier[0], random.int(0..<2) == 0 ? earlier[1] : random.word(from: keyPieces, count: 0..<3)])
            } else {
                let value = random.int(0..<4) == 0 ? "" : random.word(from: keyPieces + ["/", "a/b"], count: 1..<4)
                query.append([random.pick(queryNames), value])
            }
        }

        var headers: [[String]] = [[random.pick(["host", "Host", "HOST"]), random.pick(hosts)]]
        for _ in 0..<random.int(0..<5) {
            let name = random.int(0..<5) == 0 && headers.count > 1 ? random.pick(headers.dropFirst())[0].uppercased()
                : random.pick(["x-amz-meta-", "X-Amz-Meta-", "X-AMZ-META-"]) + random.pick(["owner", "Job-Id", "note", "a", "z9"])
            headers.append([name, random.headerValue()])
        }
        if random.int(0..<4) == 0 {
            headers.append(random.pick([
                ["Content-Type", "text/plain; charset=utf-8"], ["Range", "bytes=0-99"], ["x-amz-storage-class", "STANDARD_IA"],
                ["Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="], ["If-None-Match", "*"],
            ]))
        }
        headers.shuffle(using: &random.generator)

        let bodyBytes = (0..<random.int(0..<300)).map { _ in UInt8.random(in: 0...255, using: &random.generator) }
        let body: String? = random.int(0..<2) == 0 ? nil : Data(bodyBytes).base64EncodedString()
        let signingCase = RandomSigningCase(
            method: method, path: path, query: query, headers: headers,
            accessKeyID: "AKIA" + random.string(from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", count: 16),
            secretAccessKey: random.string(from: base64Alphabet, count: 40),
            sessionToken: random.int(0..<2) == 0 ? nil : random.string(from: base64Alphabet + "=", count: random.int(16..<400)),
            region: random.pick(["us-east-1", "eu-central-1", "ap-southeast-2", "auto", "garage"]),
            epochSeconds: Double(random.int(946_684_800..<4_102_444_800)) + Double(random.int(0..<990)) / 1_000,
            body: body, expires: random.int(1..<604_801), encodedPath: "")
        var encoded = signingCase
        encoded.encodedPath = String(signingCase.request.encodedTarget.prefix { $0 != "?" })
        return encoded
    }

    static let bucketNames = ["bucket", "my-bucket.with.dots", "b1"]
    static let keyPieces = [
        "logs", "task-7", "a b", "x+y", "k=v", "t~", "100%", "%2F", "wow!", "star*", "it's", "(1)", "é", "日本語", "🚀",
        "e\u{301}", "ß", "$", "&", "?", "#", ":", "@", ",", ";", "[x]", "  ", "-_.", "UPPER", "0",
    ]
    static let queryNames = [
        "list-type", "prefix", "delimiter", "continuation-token", "acl", "uploads", "partNumber", "uploadId", "max-keys",
        "versionId", "a b", "ключ", "~tilde", "k+=", "*", "x/y",
    ]
    static let hosts = ["bucket.s3.amazonaws.com", "s3.us-east-1.amazonaws.com", "localhost:9000", "127.0.0.1:9000", "minio.internal:8443"]
    static let base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
}

/// Random choices over a seeded generator.
private struct RandomPicker {
    var generator: SigV4SeededGenerator

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }

    mutating func pick<C: Collection>(_ choices: C) -> C.Element { choices.randomElement(using: &generator)! }

    mutating func word(from pieces: [String], count: Range<Int>) -> String {
        (0..<int(count)).map { _ in pick(pieces) }.joined()
    }

    mutating func string(from alphabet: String, count: Int) -> String {
        String((0..<count).map { _ in pick(alphabet) })
    }

    /// Printable ASCII words separated by runs of spaces and tabs, often padded at the ends.
    mutating func headerValue() -> String {
        let blanks = [" ", "  ", "   ", "\t", " \t "]
        let words = (0..<int(0..<5)).map { _ in string(from: "abcXYZ019-_.,;=/:\"'()[]{}<>@!?*+&%$#~", count: int(1..<8)) }
        var value = words.joined(separator: pick(blanks))
        if int(0..<2) == 0 { value = pick(blanks) + value }
        if int(0..<2) == 0 { value += pick(blanks) }
        return value
    }
}

/// botocore as the reference signer: `$ERGON_S3_PYTHON`, else `python3`, with botocore importable.
///
/// Without it the suite is skipped with a message, unless `ERGON_REQUIRE_S3` is set (to anything
/// but `0`), where the missing reference fails it instead.
private enum BotocoreReference {
    static var interpreter: String {
        let given = ProcessInfo.processInfo.environment["ERGON_S3_PYTHON"] ?? ""
        return given.isEmpty ? "python3" : given
    }

    static var isRequired: Bool {
        let value = ProcessInfo.processInfo.environment["ERGON_REQUIRE_S3"] ?? ""
        return !value.isEmpty && value != "0"
    }

    static let setupHint = "install it with `pip install botocore`, or set ERGON_S3_PYTHON to a python that has it"

    /// Why botocore cannot be used, or nil when it imports.
    static let unavailability: String? = {
        do {
            let run = try python(["-c", "import botocore.auth"])
            let errors = run.errors.trimmingCharacters(in: .whitespacesAndNewlines)
            return run.status == 0 ? nil : "`\(interpreter)` cannot import botocore: \(errors.suffix(300))"
        } catch {
            return "`\(interpreter)` cannot be run: \(error)"
        }
    }()

    /// The reference is missing while `ERGON_REQUIRE_S3` asks for it.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// The reference script failed.
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Throws when botocore is unusable and required; true when usable, false to skip.
    static func shouldRun() throws -> Bool {
        guard let reason = unavailability else { return true }
        if isRequired {
            throw Unavailable(description: "ERGON_REQUIRE_S3 is set but \(reason); \(setupHint)")
        }
        return false
    }

    /// Signs every case with botocore in one process; the results are in the same order.
    static func sign(_ cases: [RandomSigningCase]) throws -> (version: String, results: [BotocoreResult]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-sigv4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptFile = directory.appendingPathComponent("sign.py")
        let inputFile = directory.appendingPathComponent("cases.json")
        try Data(script.utf8).write(to: scriptFile)
        try JSONEncoder().encode(cases).write(to: inputFile)

        let run = try python([scriptFile.path, inputFile.path])
        guard run.status == 0 else {
            throw Failed(description: "the botocore script exited with \(run.status): \(run.errors.suffix(2_000))")
        }
        struct Output: Decodable {
            var version: String
            var results: [BotocoreResult]
        }
        let output = try JSONDecoder().decode(Output.self, from: run.output)
        return (output.version, output.results)
    }

    /// Runs the interpreter with `arguments`, collecting its output and its error output.
    private static func python(_ arguments: [String]) throws -> (status: Int32, output: Data, errors: String) {
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-sigv4-\(UUID().uuidString).stderr")
        try Data().write(to: errorsFile)
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let errors = try FileHandle(forWritingTo: errorsFile)
        defer { try? errors.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, data, errorText)
    }

    // Fixes botocore's clock by replacing `botocore.auth.get_current_datetime`, which both
    // S3SigV4Auth.add_auth and S3SigV4QueryAuth.add_auth read (botocore 1.43). Paths go in
    // already encoded (S3 signers sign the URL path as given); query items go in decoded, as
    // `params`, so botocore encodes and sorts them itself.
    private static let script = #"""
        # JSONEncoder leaves out nil optionals: "sessionToken" and "body" may be missing.
        import base64, datetime, json, sys, traceback
        from urllib.parse import quote, urlsplit
        import botocore
        import botocore.auth as auth
        from botocore.awsrequest import AWSRequest
        from botocore.config import Config
        from botocore.credentials import Credentials

        if not hasattr(auth, "get_current_datetime"):
            sys.exit(f"botocore {botocore.__version__} has no botocore.auth.get_current_datetime to fix its clock with")
        clock = {}
        auth.get_current_datetime = lambda remove_tzinfo=True: clock["now"]

        def request(case, params, body):
            url = "https://s3.example.invalid" + case["encodedPath"]
            req = AWSRequest(method=case["method"], url=url, data=body, params=params)
            for name, value in case["headers"]:
                req.headers[name] = value  # appends: repeated names stay repeated
            req.context["client_config"] = Config(s3={"payload_signing_enabled": case.get("body") is not None})
            return req

        def sign(case):
            clock["now"] = datetime.datetime.fromtimestamp(case["epochSeconds"], datetime.timezone.utc).replace(tzinfo=None)
            credentials = Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
            pairs = [(name, value) for name, value in case["query"]]
            body = base64.b64decode(case["body"]) if case.get("body") is not None else b""

            signer = auth.S3SigV4Auth(credentials, "s3", case["region"])
            query = signer._canonical_query_string_params(pairs) if pairs else ""
            expected_target = quote(case["path"] if case["path"].startswith("/") else "/" + case["path"], safe="/~")
            if query:
                expected_target += "?" + query

            signed = request(case, pairs, body)
            signer.add_auth(signed)

            grouped = {}
            for name, value in pairs:
                grouped.setdefault(name, []).append(value)  # lists keep repeated names
            presigned = request(case, grouped, b"")
            auth.S3SigV4QueryAuth(credentials, "s3", case["region"], expires=case["expires"]).add_auth(presigned)
            parts = urlsplit(presigned.url)

            return {
                "expectedTarget": expected_target,
                "amzDate": signed.headers.get("X-Amz-Date"),
                "contentSHA256": signed.headers.get("X-Amz-Content-SHA256"),
                "securityToken": signed.headers.get("X-Amz-Security-Token"),
                "authorization": signed.headers.get("Authorization"),
                "presignedPath": parts.path,
                "presignedQuery": parts.query.split("&"),
            }

        with open(sys.argv[1], encoding="utf-8") as source:
            cases = json.load(source)
        results = []
        for case in cases:
            try:
                results.append(sign(case))
            except Exception:
                results.append({"error": traceback.format_exc()})
        json.dump({"version": botocore.__version__, "results": results}, sys.stdout)
        """#
}

extension Trait where Self == ConditionTrait {
    /// Runs a suite only when botocore is importable; with `ERGON_REQUIRE_S3` set its absence fails instead.
    fileprivate static var botocore: Self {
        .enabled(
            Comment(
                rawValue: "needs botocore in `$ERGON_S3_PYTHON` (default python3): \(BotocoreReference.setupHint); "
                    + "set ERGON_REQUIRE_S3=1 to fail instead")
        ) {
            try BotocoreReference.shouldRun()
        }
    }
}
