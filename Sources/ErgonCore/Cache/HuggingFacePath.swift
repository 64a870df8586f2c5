import Foundation

/// An `hf://OWNER/REPO[@REVISION]/PATH` resource, and the download URL Hugging Face serves
/// it at (`{endpoint}/OWNER/REPO/resolve/REVISION/PATH`).
public struct HuggingFacePath: Equatable, Sendable {
    /// Hugging Face itself, used when `HF_ENDPOINT` is not set.
    public static let defaultEndpoint = "https://huggingface.co"

    public var owner: String
    public var repository: String
    /// A branch, tag or commit; `main` when the URL names none.
    public var revision: String
    /// The file's path inside the repository.
    public var path: String

    /// Parses `url`; nil when it is not `hf://OWNER/REPO[@REVISION]/PATH` with a file path.
    public init?(_ url: String) {
        guard url.hasPrefix("hf://") else { return nil }
        let parts = url.dropFirst("hf://".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[0].isEmpty else { return nil }
        let repoPart = parts[1]
        let name: Substring
        if let at = repoPart.firstIndex(of: "@") {
            name = repoPart[..<at]
            revision = String(repoPart[repoPart.index(after: at)...])
            guard !revision.isEmpty else { return nil }
        } else {
            name = repoPart
            revision = "main"
        }
        let filePath = parts[2...]
        guard !name.isEmpty, !filePath.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        owner = String(parts[0])
        repository = String(name)
        path = filePath.joined(separator: "/")
    }

    /// The URL to download from, under `endpoint` (`HF_ENDPOINT`, else Hugging Face).
    public func downloadURL(endpoint: String?) -> String {
        var base = endpoint.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultEndpoint
        while base.hasSuffix("/") { base.removeLast() }
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))
        let revisionPart = revision.addingPercentEncoding(withAllowedCharacters: allowed) ?? revision
        let pathPart = path.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
            .joined(separator: "/")
        return "\(base)/\(owner)/\(repository)/resolve/\(revisionPart)/\(pathPart)"
    }
}
