/// A content type from a file name's extension, for artifacts published without one.
public enum ContentTypeGuess {
    static let byExtension: [String: String] = [
        "txt": "text/plain", "log": "text/plain", "csv": "text/csv", "tsv": "text/tab-separated-values",
        "json": "application/json", "jsonl": "application/jsonl", "xml": "application/xml",
        "yaml": "application/yaml", "yml": "application/yaml", "html": "text/html",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "tif": "image/tiff", "tiff": "image/tiff",
        "webp": "image/webp", "pdf": "application/pdf", "zip": "application/zip", "tar": "application/x-tar",
        "gz": "application/gzip", "zst": "application/zstd", "sqlite": "application/vnd.sqlite3",
        "wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac",
    ]

    /// The type for `name`, `application/octet-stream` when the extension says nothing.
    public static func forName(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "application/octet-stream" }
        let ext = name[name.index(after: dot)...].lowercased()
        return byExtension[ext] ?? "application/octet-stream"
    }
}
