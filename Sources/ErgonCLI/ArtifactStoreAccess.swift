import AsyncHTTPClient
import ErgonCore
import ErgonS3
import Foundation
import Logging

extension ErgonConfig {
    /// Lends the artifact store this configuration names for the duration of `body`, and
    /// releases what it holds (an S3 store's HTTP client) afterwards.
    func withArtifactStore<Result: Sendable>(
        logger: Logger = Logger(label: "ergon.s3"), _ body: (any ArtifactStore) async throws -> Result
    ) async throws -> Result {
        switch artifactStore {
        case .file(let directory):
            return try await body(FileArtifactStore(root: directory))
        case .s3:
            throw UserError("\(source): artifacts.store \(artifactStore): S3 artifact stores are not available in this build yet")
        }
    }
}
