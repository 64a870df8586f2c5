import AsyncHTTPClient
import ErgonCore
import ErgonS3
import Foundation
import Logging

extension ErgonConfig {
    /// Lends the log store this configuration names for the duration of `body`, and releases
    /// what it holds (an S3 store's HTTP client) afterwards.
    func withLogStore<Result: Sendable>(
        logger: Logger = Logger(label: "ergon.s3"), _ body: (any LogStore) async throws -> Result
    ) async throws -> Result {
        switch logStore {
        case .file(let directory):
            return try await body(FileLogStore(directory: directory))
        case .s3(let bucket, let prefix):
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: S3Client.httpConfiguration)
            let result: Result
            do {
                // Two short tries: a failing store must not keep a task's action busy for long,
                // since the spool keeps everything and the next flush tries again.
                let client = try s3Client(http: http, logger: logger, bucket: bucket).with(retry: S3LogStore.retryPolicy)
                let store = S3LogStore(client: client, bucket: bucket, prefix: prefix)
                result = try await body(store)
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
            return result
        }
    }

    /// A client for the `s3` settings.
    func s3Client(http: HTTPClient, logger: Logger, bucket: String? = nil) throws -> S3Client {
        guard let accessKeyID = s3.accessKeyID, let secret = s3.secretAccessKey else {
            throw UserError("\(source): s3.access_key_id and s3.secret_access_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) are required for S3")
        }
        let addressing = s3.addressing.flatMap(S3Endpoint.Addressing.init(rawValue:))
        let endpoint: S3Endpoint
        if let url = s3.endpoint {
            guard let custom = S3Endpoint(url: url, region: s3.region, addressing: addressing) else {
                throw UserError("\(source): s3.endpoint \"\(url)\" is not an http(s) origin")
            }
            endpoint = custom
        } else {
            // A bucket name with dots cannot match AWS's wildcard certificate as a host name.
            let dotted = bucket?.contains(".") == true
            endpoint = .aws(region: s3.region, addressing: addressing ?? (dotted ? .path : .virtualHost))
        }
        let credentials = S3Credentials(accessKeyID: accessKeyID, secretAccessKey: secret.value, sessionToken: s3.sessionToken?.value)
        return S3Client(endpoint: endpoint, credentials: credentials, httpClient: http, logger: logger)
            .with(partChecksums: s3.partChecksums)
    }
}

/// Reads an attempt's log from wherever it is most complete: the local spool when this machine
/// ran the attempt, else the log store.
struct LogSource: Sendable {
    let spool: LogSpool
    let store: any LogStore

    /// Bytes of the log from `offset` on, and whether they came from the spool; nil when
    /// neither has the log.
    func read(_ key: LogKey, from offset: Int64) async throws -> (bytes: [UInt8], fromSpool: Bool)? {
        let path = spool.path(of: key)
        if FileManager.default.fileExists(atPath: path) {
            return (try LogSpool.Reader(path: path).read(from: offset, limit: 8 << 20), true)
        }
        return try await store.read(key: key, from: offset).map { ($0, false) }
    }
}
