import Foundation
import Testing

@testable import ErgonCore

/// `vast_api.lifetime_margin`: how much longer than a task's timeout a host must stay available.
@Suite("vast_api.lifetime_margin")
struct LifetimeMarginConfigTests {
    static func parse(_ text: String) throws(ConfigError) -> ErgonConfig {
        try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: [:], hostName: "box")
    }

    @Test("a duration like the other duration keys; one hour by default", arguments: [
        ("", 3600),
        ("vast_api: {offer_filters: \"\"}", 3600),
        ("vast_api: {lifetime_margin: 30m}", 1800),
        ("vast_api: {lifetime_margin: 2h30m}", 9000),
        ("vast_api: {lifetime_margin: 1d}", 86_400),
        ("vast_api: {lifetime_margin: 90}", 90),
        ("vast_api: {lifetime_margin: 0}", 0),
    ] as [(String, Double)])
    func values(text: String, seconds: Double) throws {
        #expect(try Self.parse(text).vast.lifetimeMargin == .seconds(seconds))
    }

    @Test("a negative or invalid value is an error naming the key", arguments: [
        ("vast_api: {lifetime_margin: -1h}",
         "ergon.yaml: vast_api.lifetime_margin: invalid duration \"-1h\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("vast_api: {lifetime_margin: -60}",
         "ergon.yaml: vast_api.lifetime_margin: invalid duration \"-60\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("vast_api: {lifetime_margin: soon}",
         "ergon.yaml: vast_api.lifetime_margin: invalid duration \"soon\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        ("vast_api: {lifetime_margin: [1h]}",
         "ergon.yaml: vast_api.lifetime_margin: expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m, got a list"),
        ("vast_api: {lifetime_margn: 1h}", "ergon.yaml: vast_api.lifetime_margn: unknown key (did you mean \"lifetime_margin\"?)"),
    ])
    func errors(text: String, message: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.keyPath.hasPrefix("vast_api.lifetime_marg"), "\(error)")
            #expect(error.description == message)
        }
    }
}
