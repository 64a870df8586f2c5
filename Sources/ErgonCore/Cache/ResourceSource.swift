import Crypto
import Foundation

/// Where a resource comes from.
public enum ResourceKind: String, Codable, Sendable, CaseIterable {
    /// `s3://bucket/key`, or `s3://bucket/prefix/` for every object under a prefix, read
    /// with the agent's `s3` settings.
    case s3 = "S3"
    /// Any `http://` or `https://` URL.
    case http = "HTTP"
    /// `hf://OWNER/REPO[@REVISION]/PATH`, read from Hugging Face (or `HF_ENDPOINT`).
    case hf = "HF"
}

/// The archive formats a resource can be unpacked from, by the URL's suffix.
public enum ArchiveFormat: String, Sendable, CaseIterable {
    case tar
    case tarGzip = "tar.gz"
    case tarZstd = "tar.zst"

    /// The format `path` ends with (`.tar`, `.tar.gz`/`.tgz`, `.tar.zst`/`.tzst`), or nil.
    public init?(path: String) {
        let lower = path.lowercased()
        if lower.hasSuffix(".tar.zst") || lower.hasSuffix(".tzst") {
            self = .tarZstd
        } else if lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") {
            self = .tarGzip
        } else if lower.hasSuffix(".tar") {
            self = .tar
        } else {
            return nil
        }
    }
}

/// What to fetch, independent of where a task wants it: the part of a resource the cache
/// keys and verifies.
public struct ResourceSource: Codable, Hashable, Sendable, CustomStringConvertible {
    public var kind: ResourceKind
    public var url: String
    /// The expected SHA-256 of the downloaded bytes (the archive when unpacked), lowercase hex.
    public var sha256: String?
    /// Unpack the archive; the entry is then a folder.
    public var unpack: Bool

    public init(kind: ResourceKind, url: String, sha256: String? = nil, unpack: Bool = false) {
        self.kind = kind
        self.url = url
        self.sha256 = sha256
        self.unpack = unpack
    }

    /// The cache entry's name: the SHA-256 of the type, the URL (which holds an HF revision)
    /// and whether it is unpacked, so one download serves every task naming the same thing.
    public var cacheKey: String {
        let identity = "\(kind.rawValue)\n\(url)\n\(unpack ? "unpacked" : "raw")"
        return SHA256.hash(data: Data(identity.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The archive format of the URL's path, when it names one.
    public var archiveFormat: ArchiveFormat? {
        let path = URLComponents(string: url)?.path ?? url
        return ArchiveFormat(path: path)
    }

    /// True for an `s3://bucket/prefix/` source: every object under the prefix, as a folder.
    public var isS3Prefix: Bool { kind == .s3 && url.hasSuffix("/") }

    /// The URL as messages and logs show it.
    public var shownURL: String { Self.redacted(url) }

    public var description: String { "\(kind.rawValue) \(shownURL)" }

    /// A URL as messages show it: without credentials, query or fragment (a pre-signed URL's
    /// query is a credential), with `?…` where a query was.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else {
            return url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        }
        let hadQuery = components.query != nil
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return (components.string ?? url) + (hadQuery ? "?…" : "")
    }
}
