import Foundation

extension Scheduler {
    /// Fetches the task's resources (or finds them in the cache) and holds them for it. Vast
    /// mode keeps archives packed: the worker gets them through the worker API and unpacks them.
    func prepareResources(of task: TaskRecord) async throws -> [PreparedResource] {
        let resources = task.spec.resources
        guard !resources.isEmpty else { return [] }
        guard let provider = self.resources else {
            throw UnsupportedTaskField(reason: "this agent has no resource cache; remove `resources` or fetch the files in the task's command")
        }
        if !backend.mountsTaskFolder {
            guard workerAPIURL != nil else {
                throw UnsupportedTaskField(
                    reason: "its resources reach a rented host only through the worker API: set server.public_url in the agent's config")
            }
            if let folder = resources.first(where: { $0.source.isS3Prefix }) {
                throw UnsupportedTaskField(
                    reason: "\(ResourceSource.redacted(folder.url)) is an S3 prefix (a folder); in vast mode a resource must be one file (pack it as a .tar.zst)")
            }
            if let model = resources.first(where: { $0.model && $0.unpack && $0.source.archiveFormat != .tarZstd }) {
                throw UnsupportedTaskField(
                    reason: "the model \(ResourceSource.redacted(model.url)) is unpacked by the worker in vast mode, which unpacks only .tar.zst archives")
            }
        }
        let optedOut = task.spec.cache == false
            || ["true", "1", "yes"].contains(task.spec.env["ERGON_DISABLE_MODEL_CACHE"]?.lowercased() ?? "")
        return try await provider.acquire(
            resources, taskID: task.id, useCache: !optedOut, keepArchives: !backend.mountsTaskFolder,
            privateDirectory: workspace.path(of: task.id) + ".resources")
    }

    /// A fresh worker token for the attempt, its hash recorded in the queue, valid until the
    /// attempt ends and at most for its provisioning and run deadlines plus an hour; nil when
    /// the agent serves no worker API.
    func workerAccess(for held: HeldTask) async throws -> WorkerAccess? {
        guard let workerAPIURL else { return nil }
        let token = WorkerToken.generate()
        let lifetime = basePolicy.provisioningTimeout + basePolicy.timeout(of: held.task) + 3600
        try await queue.recordToken(
            TokenGrant(hash: token.hash, taskID: held.task.id, attempt: held.attempt.number, expiresAt: now().addingTimeInterval(lifetime)))
        return WorkerAccess(apiURL: workerAPIURL, token: token)
    }
}
