import ErgonCore
import Foundation
import Hummingbird
import Logging

/// `PUT /api/v1/upload/{task}/{name}?size=&expires=&signature=`: the agent's own upload URL
/// for stores that cannot pre-sign one. No token: the signature is the credential. The body
/// streams to a staging file and must be exactly the signed size before it is stored.
struct UploadRoutes: Sendable {
    let dependencies: ServerDependencies
    let gate: WorkerGate

    func add(to router: Router<BasicRequestContext>) {
        router.put("/api/v1/upload/{task}/{name}") { request, context in try await upload(request, context) }
    }

    func upload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let grant = try signedGrant(request, context)
        guard let task = try await dependencies.queue.task(grant.taskID) else {
            throw gate.refuse(request, .notFound("no task \(grant.taskID.uuidString.lowercased())"))
        }
        // Only while the attempt it was made for runs: an ended task's artifacts are final.
        guard try await gate.isLive(task, attempt: grant.attempt) else {
            throw gate.refuse(request, .forbidden("the attempt this upload URL was made for has ended"))
        }
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared != grant.size {
            throw gate.refuse(
                request, .badRequest("the upload has \(declared) bytes but its URL was signed for \(grant.size)"))
        }
        let staging = StagingFiles(directory: dependencies.uploadDirectory)
        let path = try staging.newPath("upload")
        defer { StagingFiles.remove(path) }
        do {
            try await FileIO().writeFile(
                contents: ExactLengthBody(base: request.body, expected: grant.size), path: path, context: context)
        } catch let mismatch as ExactLengthBody<RequestBody>.Mismatch {
            throw gate.refuse(request, .badRequest(mismatch.detail))
        }
        // Again once the body is in: the attempt may have ended while it arrived.
        guard try await gate.isLive(task, attempt: grant.attempt) else {
            throw gate.refuse(request, .forbidden("the attempt this upload URL was made for ended during the upload"))
        }
        let contentType = request.headers[.contentType].flatMap { $0.isEmpty ? nil : $0 }
            ?? ContentTypeGuess.forName(grant.name.value)
        let stored = try await dependencies.artifacts.store(
            ArtifactOwner(task), name: grant.name, file: path, contentType: contentType)
        dependencies.logger.info(
            "artifact uploaded",
            metadata: ["task": "\(task.id.uuidString.lowercased())", "artifact": "\(grant.name)", "size": "\(stored.size)"])
        return APIJSON.response(ArtifactView(stored, taskID: task.id), status: .created)
    }

    /// The grant the URL carries, once its signature and expiry check out; a logged 403 otherwise.
    private func signedGrant(_ request: Request, _ context: BasicRequestContext) throws -> UploadSignature {
        let query = request.uri.queryParameters
        let rawName = context.parameters.get("name") ?? ""
        guard let taskText = context.parameters.get("task"), let taskID = UUID(uuidString: taskText),
            let name = try? ArtifactName(rawName.removingPercentEncoding ?? rawName),
            let attempt = query.get("attempt").flatMap({ Int($0) }),
            let size = query.get("size").flatMap({ Int64($0) }), size >= 0,
            let expires = query.get("expires").flatMap({ Int64($0) }),
            let signature = query.get("signature")
        else {
            throw gate.refuse(request, .forbidden("not a signed upload URL: ask CreateArtifact for one"))
        }
        let grant = UploadSignature(taskID: taskID, attempt: attempt, name: name, size: size, expires: expires)
        guard grant.isSigned(by: signature, key: dependencies.uploadKey) else {
            throw gate.refuse(request, .forbidden("the upload URL's signature does not match: ask CreateArtifact for a new one"))
        }
        guard Double(expires) > dependencies.now().timeIntervalSince1970 else {
            throw gate.refuse(request, .forbidden("the upload URL expired: ask CreateArtifact for a new one"))
        }
        return grant
    }
}
