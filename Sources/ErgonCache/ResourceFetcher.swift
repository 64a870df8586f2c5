import ErgonCore
import Foundation

/// What a fetch produced.
public struct FetchedContent: Equatable, Sendable {
    /// The content type the source declared, when it declared one.
    public var contentType: String?
    /// Bytes written (for a folder, the sum of its files).
    public var bytes: Int64
    public init(contentType: String?, bytes: Int64) {
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// Downloads one resource from where it lives. Knows nothing of the cache's layout or policy.
public protocol ResourceFetcher: Sendable {
    /// Downloads `source` to `destination`: a file, or for an S3 prefix (`isS3Prefix`) a folder
    /// holding one file per object (keys below the prefix as relative paths).
    ///
    /// When `destination` is a file that already holds the start of the content (an earlier,
    /// interrupted fetch), the fetch continues it with a range request when the server
    /// supports ranges, and starts over otherwise. `announceSize` is called once, before any
    /// byte is written, with the total size when the source tells it (nil otherwise); when it
    /// throws, the fetch stops and rethrows. Throws ``ResourceError`` (`.unavailable` for
    /// refusals that will not change, `.fetchFailed` for the rest) and `CancellationError`.
    func fetch(
        _ source: ResourceSource, to destination: String, announceSize: @Sendable (Int64?) async throws -> Void
    ) async throws -> FetchedContent
}
