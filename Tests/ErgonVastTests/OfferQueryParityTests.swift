import Foundation
import Testing

@testable import ErgonVast

/// `OfferQuery` against the real `vastai` 1.9.1 parser: the fixture corpus plus generated queries,
/// all parsed by one python process.
@Suite(.enabled(if: !VastaiPython.skipped, "ERGON_ALLOW_NO_VASTAI=1 and no vastai python: parity not checked"))
struct OfferQueryParityTests {
    static let corpusURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/offer-queries.txt")

    /// The fixture's queries, exactly as written (comments and empty lines dropped).
    static func corpus() throws -> [String] {
        try String(contentsOf: corpusURL, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    @Test func corpusAndGeneratedQueriesMatchTheCLI() throws {
        guard VastaiPython.interpreter != nil else {
            Issue.record(Comment(rawValue: VastaiPython.missingMessage))
            return
        }
        let corpus = try Self.corpus()
        #expect(corpus.count >= 45)
        let generated = QueryGenerator.queries(count: 600, seed: 0x5EED)
        let queries = corpus + generated
        let report = try VastaiPython.run(queries)
        #expect(report.version == "1.9.1", "the reference must be vastai 1.9.1, found \(report.version)")
        try #require(report.outcomes.count == queries.count)

        var mismatches: [String] = []
        var accepted = 0
        var rejected = 0
        var unknownFields = 0
        for (query, outcome) in zip(queries, report.outcomes) {
            let strict = Result { () throws(OfferQueryError) in try OfferQuery.parse(query) }
            // The CLI only warns about unknown fields; parsing as it does shows the rest still agrees.
            let lenient = Result { () throws(OfferQueryError) in
                try OfferQuery.parse(query, defaults: .cliDefaults, acceptingUnknownFields: true)
            }
            switch (outcome, lenient) {
            case (.parsed(let expected), .success(let ours)):
                accepted += 1
                if ours.filter.json != expected {
                    mismatches.append("\(query.debugDescription): python \(expected.jsonText), ours \(ours.filter.json.jsonText)")
                }
                let unknown = expected.objectValue!.keys.contains { !OfferFields.isKnown($0) }
                switch strict {
                case .success where unknown:
                    mismatches.append("\(query.debugDescription): an unknown field was accepted")
                case .success:
                    break
                // (A wildcard can drop the unknown field again, so the token is what proves it.)
                case .failure(let error) where error.code == .unknownField && !OfferFields.isKnown(OfferFields.resolve(error.token)):
                    unknownFields += 1
                case .failure(let error):
                    mismatches.append("\(query.debugDescription): rejected without cause: \(error)")
                }
            case (.rejected(let why), .failure(let error)):
                rejected += 1
                if case .success(let ours) = strict {
                    mismatches.append("\(query.debugDescription): python rejects (\(why)), ours gives \(ours.filter.json.jsonText)")
                }
                if !error.description.contains("\"\(error.token)\"") {
                    mismatches.append("\(query.debugDescription): \(error) does not quote its token")
                }
            case (.parsed(let expected), .failure(let error)):
                mismatches.append("\(query.debugDescription): python accepts \(expected.jsonText), ours rejects: \(error)")
            case (.rejected(let why), .success(let ours)):
                mismatches.append("\(query.debugDescription): python rejects (\(why)), ours gives \(ours.filter.json.jsonText)")
            }
        }
        #expect(mismatches.isEmpty, Comment(rawValue: mismatches.prefix(30).joined(separator: "\n")))
        // Both sides of the language are exercised, not just one.
        #expect(accepted > 200 && rejected > 100, "accepted \(accepted), rejected \(rejected)")
        print("offer query parity: \(queries.count) queries (\(corpus.count) from the corpus), \(accepted) accepted "
            + "(\(unknownFields) of them with an unknown field, which Ergon refuses), \(rejected) rejected")
    }

    @Test func fieldTableMatchesThePackage() throws {
        guard VastaiPython.interpreter != nil else {
            Issue.record(Comment(rawValue: VastaiPython.missingMessage))
            return
        }
        let report = try VastaiPython.run([])
        #expect(report.fields == OfferFields.names)
        #expect(report.aliases == .object(OfferFields.aliases.mapValues { .string($0) }))
        #expect(report.multipliers == .object(OfferFields.multipliers.mapValues { .number($0) }))
    }
}

/// Random queries from the language's pieces, valid and broken, reproducible from a seed.
enum QueryGenerator {
    static let fields = [
        "num_gpus", "gpu_name", "gpu_ram", "cpu_ram", "gpu_total_ram", "duration", "driver_version", "geolocation",
        "reliability", "verified", "external", "rentable", "dph", "cuda_vers", "dlperf_usd", "flops_usd",
        "display_active", "dph_total", "disk_space", "ubuntu_version", "min_bid",
    ]
    static let ops = [
        "=", "==", "!=", "<", "<=", ">", ">=", "=>", "!", "=<", " = ", " >= ", " eq ", " neq ", " noteq ", " not eq ",
        " gt ", " gte ", " lt ", " lte ", " in ", " notin ", " not in ", " nin ", " not  in ", " eqq ", " ", "",
    ]
    static let values = [
        "1", "0", "2.5", ".5", "1e3", "-3", "+4", "RTX_4090", "\"RTX 4090\"", "\"a_b\"", "[A,B]", "[1, 2]",
        "[ US ,CA]", "[]", "[,]", "[x", "any", "*", "?", "[any]", "any,", "true", "True", "false", "False", "None",
        "null", "535.86.05", ".1.2", "1..", "0.0.0", "x.y.z", "535.86", "a=b", "1,", "\"\"", "\"", "inf", "-nan",
        "1_000", "_2", "\"[a]\"", "",
    ]
    static let separators = [" ", "  ", ""]

    static func queries(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let terms = Int(random.next() % 4) + 1
            return (0..<terms).map { index in
                let separator = index == 0 ? "" : separators.randomElement(using: &random)!
                return separator + fields.randomElement(using: &random)! + ops.randomElement(using: &random)!
                    + values.randomElement(using: &random)!
            }.joined()
        }
    }
}

/// A small seeded generator so the generated corpus is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
