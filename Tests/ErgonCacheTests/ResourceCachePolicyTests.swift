import Foundation
import Testing

@testable import ErgonCache

/// The cache's pure rules, as tables.
@Suite struct ResourceCachePolicyTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// `name:size:minutes ago[:kept]`.
    static func entries(_ specs: [String]) -> [CachePolicy.Candidate] {
        specs.map { spec in
            let parts = spec.split(separator: ":")
            return CachePolicy.Candidate(
                key: String(parts[0]), size: Int64(parts[1])!, lastUsed: start.addingTimeInterval(-60 * Double(parts[2])!),
                kept: parts.count > 3)
        }
    }

    struct EvictionCase: Sendable, CustomTestStringConvertible {
        var entries: [String]
        var reserved: Int64
        var needed: Int64
        var keys: [String]
        var fits: Bool
        var testDescription: String { "\(entries) +\(reserved) +\(needed)" }
    }

    @Test(arguments: [
        EvictionCase(entries: ["a:100:5", "b:100:10"], reserved: 0, needed: 100, keys: [], fits: true),
        EvictionCase(entries: ["a:100:5", "b:100:10"], reserved: 0, needed: 150, keys: ["b"], fits: true),
        EvictionCase(entries: ["a:100:5", "b:100:10:kept"], reserved: 0, needed: 150, keys: ["a"], fits: true),
        EvictionCase(entries: ["a:100:5:kept", "b:100:10:kept"], reserved: 0, needed: 150, keys: [], fits: false),
        EvictionCase(entries: ["a:100:5", "b:100:10", "c:50:1"], reserved: 100, needed: 100, keys: ["b", "a"], fits: true),
        EvictionCase(entries: ["a:100:5", "b:200:10:kept"], reserved: 0, needed: 150, keys: ["a"], fits: false),
        EvictionCase(entries: ["a:400:5"], reserved: 0, needed: 0, keys: ["a"], fits: true),
    ])
    func evictionsAreLeastRecentlyUsedFirst(_ example: EvictionCase) {
        let policy = CachePolicy(maxSize: 300, purgeUnusedAfter: .seconds(3600))
        let plan = policy.evictions(Self.entries(example.entries), reserved: example.reserved, needed: example.needed)
        #expect(plan.keys == example.keys)
        #expect(plan.fits == example.fits)
    }

    @Test func expiryIgnoresKeptEntries() {
        let policy = CachePolicy(maxSize: 300, purgeUnusedAfter: .seconds(3600))
        let entries = Self.entries(["fresh:1:59", "old:1:61", "oldHeld:1:600:kept", "edge:1:60"])
        #expect(policy.expired(entries, now: Self.start) == ["old"])
    }
}
