import Foundation

/// Durable storage for task artifacts: a local directory (default) or S3.
///
/// A task's artifacts are the files of its latest attempt: a new attempt starts by removing
/// the previous one's (`removeAll`), so a retried parent's new files replace the old ones.
public protocol ArtifactStore: Sendable {
    /// A human address of the store (`file:///…`, `s3://bucket/prefix`).
    var location: String { get }
    /// The task's artifacts, sorted by name; empty when it has none.
    func list(_ owner: ArtifactOwner) async throws -> [Artifact]
    /// One artifact, or nil when the task has none of that name.
    func artifact(_ owner: ArtifactOwner, name: ArtifactName) async throws -> Artifact?
    /// Stores the file at `file` (a local path) as an artifact, replacing one of the same name.
    /// Atomic: readers see the old bytes or the new, never part of them.
    @discardableResult
    func store(_ owner: ArtifactOwner, name: ArtifactName, file: String, contentType: String) async throws -> Artifact
    /// Copies an artifact to the local file `destination` (replaced atomically). Throws
    /// `ArtifactStoreError.notFound` when there is no such artifact.
    func fetch(_ owner: ArtifactOwner, name: ArtifactName, to destination: String) async throws
    /// Removes all of a task's artifacts (already none is success).
    func removeAll(_ owner: ArtifactOwner) async throws
    /// A URL a host without credentials can download the artifact from for `validFor`
    /// (S3: pre-signed GET); nil when the agent must serve the bytes itself.
    func directDownloadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL?
    /// A URL a host without credentials can upload the artifact to with a plain `PUT` for
    /// `validFor` (S3: pre-signed PUT); nil when uploads go through the agent.
    func directUploadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL?
}

/// An artifact store failure with a message meant for the operator.
public struct ArtifactStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No such artifact.
        case notFound
        /// The store could not be read or written.
        case unavailable
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
