import Foundation

/// The name of an artifact: one flat file name (WORKER_CONTRACT.md: no sub-folders).
/// Names that could leave a task's artifact folder are refused: empty, `.`, `..`, anything
/// with `/`, `\` or a control character, and names over 200 bytes.
public struct ArtifactName: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ text: String) throws(ArtifactNameError) {
        guard !text.isEmpty else { throw ArtifactNameError(name: text, problem: "is empty") }
        guard text != ".", text != ".." else { throw ArtifactNameError(name: text, problem: "is not a file name") }
        guard !text.hasPrefix("/") else { throw ArtifactNameError(name: text, problem: "is an absolute path") }
        guard !text.contains("/"), !text.contains("\\") else {
            throw ArtifactNameError(name: text, problem: "has a folder in it (artifacts are flat: no `/`)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw ArtifactNameError(name: text, problem: "has a control character in it")
        }
        // Stores add suffixes (`.json` metadata, partial-download names) within the 255-byte limit.
        guard text.utf8.count <= 200 else { throw ArtifactNameError(name: text, problem: "is longer than 200 bytes") }
        self.value = text
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { value }
    public static func < (lhs: ArtifactName, rhs: ArtifactName) -> Bool { lhs.value < rhs.value }
}

/// An artifact name that was refused, and why.
public struct ArtifactNameError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var problem: String
    public var description: String { "artifact name \"\(name)\" \(problem)" }
}
