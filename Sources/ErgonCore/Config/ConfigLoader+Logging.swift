import Foundation

extension ConfigLoader {
    static let loggingKeys = ["format"]

    /// Reads `logging`: how the agent writes its own log lines (`format: text | json`).
    static func readLogging(_ section: DocumentNode?) throws(DocumentNode.Fault) -> ErgonConfig.LogFormat {
        guard let section, !section.isNull else { return .text }
        let fields = try section.fields(allowed: loggingKeys)
        guard let node = fields["format"], !node.isNull else { return .text }
        let formats = ErgonConfig.LogFormat.allCases.map(\.rawValue)
        let value = try node.nonEmptyString(formats.joined(separator: " or "))
        guard let format = ErgonConfig.LogFormat(rawValue: value) else {
            throw node.fault(.invalidValue, "unknown log format \(node.shown)" + KeySuggestion.hint(for: value, among: formats))
        }
        return format
    }
}
