import Foundation
import Testing

@testable import ErgonVast

/// The hand-written parser against Foundation's `JSONDecoder` (the Codable path it replaced).
@Suite struct JSONParserTests {
    static func viaDecoder(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        "null", "true", "false", "0", "-0", "12", "-7", "1.5", "-0.25", "1e3", "2E-2", "6.02e+23", "123456789012345",
        #""""#, #""plain""#, #""\"\\\/\b\f\n\r\t""#, #""\u00e9 caf\u00E9 \u20ac""#, #""\ud83d\ude00 smile""#, "\"déjà vu ✓\"",
        "[]", "{}", " [ 1 , [ ] , { } , \"x\" ] ", #"{"a":{"b":[1,2,{"c":null}]},"d":"e"}"#,
        "\t\r\n{\"k\" : [true,false,null]}\n",
    ])
    func agreesWithJSONDecoder(text: String) throws {
        #expect(try JSONValue.decode(Data(text.utf8)) == Self.viaDecoder(text))
    }

    @Test(arguments: [
        "", " ", "nul", "tru", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "01", "-", "1.", ".5", "1e", "+1",
        "\"open", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00 low\"", "[1]]", "{} {}", "\"tab\there\"",
        "NaN", "Infinity", "1e999", "[", "{\"a\":",
    ])
    func rejectsWhatIsNotJSON(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.decode(Data(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParseError.self) { try JSONValue.decode(Data([0x22, 0xff, 0xfe, 0x22])) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue.decode(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.decode(Data(fine.utf8))) != nil)
    }

    @Test func errorsSayWhere() throws {
        let error = try #require(throws: JSONParseError.self) { try JSONValue.decode(Data(#"{"a": [1, 2,, 3]}"#.utf8)) }
        #expect(error.offset == 12)
        #expect(error.description == "unexpected character ',' at byte 12")
    }

    @Test func pruningKeepsOnlyTheNamedMembersAtItsDepth() throws {
        let text = #"{"instances": [{"id": 1, "label": "a", "extra_env": [["A", "1"]], "big": {"x": 1}}, {"id": 2}], "next_token": "t"}"#
        let pruning = JSONPruning(depth: 2, members: ["id", "label"])
        let value = try JSONParser.parse(Array(text.utf8), pruning: pruning)
        let expected: JSONValue = ["instances": [["id": 1, "label": "a"], ["id": 2]], "next_token": "t"]
        #expect(value == expected)
        // Dropped members are still checked: a document that is not JSON stays refused.
        let broken = #"{"instances": [{"id": 1, "extra": [1,]}]}"#
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(broken.utf8), pruning: pruning) }
        // Objects at other depths keep every member.
        #expect(try JSONParser.parse(Array(#"{"a": 1, "b": 2}"#.utf8), pruning: pruning) == ["a": 1, "b": 2])
        // Two depths at once.
        let both = pruning.keeping(["instances"], atDepth: 0)
        #expect(try JSONParser.parse(Array(text.utf8), pruning: both) == ["instances": [["id": 1, "label": "a"], ["id": 2]]])
    }

    @Test(arguments: [
        #"{"instances": [{"id": 1, "x": "raw \#u{01} control"}]}"#, #"{"instances": [{"id": 1, "x": 01}]}"#,
        #"{"instances": [{"id": 1, "x": "open}]}"#, #"{"instances": [{"id": 1, "x": [1 2]}]}"#,
        #"{"instances": [{"id": 1, "x": {"a" 1}}]}"#, #"{"instances": [{"id": 1, "x": tru}]}"#,
        #"{"instances": [{"id": 1, "x": "\q"}]}"#, #"{"instances": [{"id": 1, "x": "é \ud800"}]}"#,
    ])
    func prunedMembersAreStillChecked(text: String) {
        let pruning = JSONPruning(depth: 2, members: ["id"])
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8), pruning: pruning) }
    }

    /// Seeded random documents parsed with pruning at a random depth: the same as the whole
    /// parse with the members at that depth taken out (all but those kept).
    @Test func pruningRandomDocumentsDropsExactlyThePrunedMembers() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let data = value.encoded(pretty: Bool.random(using: &generator))
            let pruning = JSONPruning(depth: Int.random(in: 0...3, using: &generator), members: ["k0", "k1é"])
            let whole = try JSONValue.decode(data)
            #expect(try JSONParser.parse(Array(data), pruning: pruning) == Self.pruned(whole, pruning, depth: 0))
        }
    }

    static func pruned(_ value: JSONValue, _ pruning: JSONPruning, depth: Int) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map { pruned($0, pruning, depth: depth + 1) })
        case .object(let members):
            var kept: [String: JSONValue] = [:]
            for (key, member) in members where pruning.level(at: depth)?.members.contains(key) ?? true {
                kept[key] = pruned(member, pruning, depth: depth + 1)
            }
            return .object(kept)
        default: return value
        }
    }

    /// Seeded random documents, written by JSONEncoder and read back by both parsers.
    @Test func randomDocumentsRoundTrip() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let pretty = Bool.random(using: &generator)
            let data = value.encoded(pretty: pretty)
            let text = String(decoding: data, as: UTF8.self)
            #expect(try JSONValue.decode(data) == Self.viaDecoder(text))
        }
    }

    static func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let pick = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch pick {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)))
        case 3: return .number(Double.random(in: -1e6...1e6, using: &generator))
        case 4:
            let alphabet = Array("abc XYZ 0189 \"\\/\n\t é€😀\u{01}")
            return .string(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                members["k\(index)\(["", "é", "\"q\""].randomElement(using: &generator)!)"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }
}
