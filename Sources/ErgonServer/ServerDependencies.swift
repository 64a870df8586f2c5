import Crypto
import ErgonCore
import Foundation
import Logging

/// What the server works on, handed in by the agent (or a test): the queue, the artifact
/// store, the log reader, and the few settings the routes need.
public struct ServerDependencies: Sendable {
    /// The task queue: tasks, attempts, worker token grants.
    public var queue: any TaskQueue
    /// Where artifacts live.
    public var artifacts: any ArtifactStore
    /// Bytes of an attempt's log from an offset; nil when there is no such log.
    public var readLog: @Sendable (LogKey, Int64) async throws -> [UInt8]?
    /// The attempt budget of submitted tasks that set no `max_attempts`.
    public var defaultMaxAttempts: Int
    /// Where uploads and downloads are staged; on the file store's filesystem so storing is a copy
    /// on one disk, never a body held in memory.
    public var uploadDirectory: String
    /// The HMAC key of the agent's own upload URLs (stores without pre-signed PUTs).
    public var uploadKey: SymmetricKey
    /// The task resources the agent holds (the worker API serves them in vast mode); nil: none.
    public var resources: (any ResourceProvider)?
    public var logger: Logger
    /// What a workflow posted to the task API is checked for before it is queued (offer
    /// filters, vast mode's limits, images without a shell); problems refuse it with 400.
    public var reviewSubmission: @Sendable (WorkflowSpec) async -> SubmissionReview
    /// The clock for token expiry, upload URL expiry and queue timestamps (injected for tests).
    public var now: @Sendable () -> Date

    public init(
        queue: any TaskQueue, artifacts: any ArtifactStore,
        readLog: @escaping @Sendable (LogKey, Int64) async throws -> [UInt8]?, defaultMaxAttempts: Int,
        uploadDirectory: String, uploadKey: SymmetricKey, resources: (any ResourceProvider)? = nil, logger: Logger,
        reviewSubmission: @escaping @Sendable (WorkflowSpec) async -> SubmissionReview = { _ in SubmissionReview() },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.reviewSubmission = reviewSubmission
        self.resources = resources
        self.queue = queue
        self.artifacts = artifacts
        self.readLog = readLog
        self.defaultMaxAttempts = defaultMaxAttempts
        self.uploadDirectory = uploadDirectory
        self.uploadKey = uploadKey
        self.logger = logger
        self.now = now
    }
}
