import Foundation
import Testing

@testable import ErgonCore

@Suite("Config loading: logging")
struct LoggingConfigTests {
    /// Parses config text as `ergon.yaml` in `/etc/ergon`.
    private func parse(_ text: String) throws(ConfigError) -> ErgonConfig {
        try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: [:], hostName: "box")
    }

    @Test("logging.format is text by default, and text or json when set")
    func formats() throws {
        #expect(try parse("mode: docker").logFormat == .text)
        #expect(try parse("logging: {}").logFormat == .text)
        #expect(try parse("logging:\n  format: text").logFormat == .text)
        #expect(try parse("logging:\n  format: json").logFormat == .json)
    }

    @Test(
        "a bad logging section names the file, the key and the fix",
        arguments: [
            ("logging:\n  format: jsno", ConfigError.Kind.invalidValue, "logging.format", #"unknown log format "jsno" (did you mean "json"?)"#),
            ("logging:\n  format: xml", .invalidValue, "logging.format", "(expected one of: text, json)"),
            ("logging:\n  fromat: json", .unknownKey, "logging.fromat", #"unknown key (did you mean "format"?)"#),
            ("logging:\n  format: [json]", .wrongType, "logging.format", "expected a string"),
            ("logging: json", .wrongType, "logging", "expected a mapping"),
            ("loging:\n  format: json", .unknownKey, "loging", #"did you mean "logging"?"#),
        ])
    func badValues(text: String, kind: ConfigError.Kind, keyPath: String, message: String) throws {
        let error = try #require(throws: ConfigError.self) { try parse(text) }
        #expect(error.kind == kind)
        #expect(error.keyPath == keyPath)
        #expect(error.description.hasPrefix("ergon.yaml: \(keyPath): "), "\(error)")
        #expect(error.description.contains(message), "\(error)")
    }
}
