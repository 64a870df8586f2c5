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
        case .s3(let bucket, let prefix):
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
            let result: Result
            do {
                // The standard retry policy: an artifact call is rare and its caller waits for it,
                // unlike a log flush, which the spool can simply repeat later.
                let client = try s3Client(http: http, logger: logger, bucket: bucket)
                result = try await body(S3ArtifactStore(client: client, bucket: bucket, prefix: prefix))
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
            return result
        }
    }
}
