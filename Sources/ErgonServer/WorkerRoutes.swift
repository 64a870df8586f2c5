import ErgonCore
import Foundation
import Hummingbird
import Logging

/// The worker API of WORKER_CONTRACT.md: what arkindex-base-worker calls back with its
/// `Ponos` token (`RetrieveTask`, `ListArtifacts`, `DownloadArtifact`, `CreateArtifact`).
struct WorkerRoutes: Sendable {
    let dependencies: ServerDependencies
    let gate: WorkerGate
    let origin: RequestOrigin

    /// How long pre-signed and agent upload URLs stay valid.
    static let urlLifetime: Duration = .seconds(3600)
    /// The largest `CreateArtifact` body read (it is three fields).
    static let maximumJSONBody = 64 * 1024

    func add(to router: Router<BasicRequestContext>) {
        router.get("/api/v1/task/{id}/") { request, context in try await retrieveTask(request, context) }
        router.get("/api/v1/task/{id}/artifacts/") { request, context in try await listArtifacts(request, context) }
        router.post("/api/v1/task/{id}/artifacts/") { request, context in try await createArtifact(request, context) }
        router.get("/api/v1/task/{id}/artifact/{path}") { request, context in try await downloadArtifact(request, context) }
        router.put("/api/v1/task/{id}/artifact/{path}") { request, context in try await putArtifact(request, context) }
    }

    /// `UploadArtifact`: the request body becomes the artifact, in one call with the token (what
    /// the launch wrapper uses with `curl -T`, which cannot read a JSON answer). Streamed to a
    /// staging file, never held whole; exactly `Content-Length` bytes when one is sent.
    func putArtifact(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let task = try await gate.writableTask(context.parameters.get("id"), authorization, request)
        let name = try artifactName(request, context)
        let staging = StagingFiles(directory: dependencies.uploadDirectory)
        let path = try staging.newPath("put")
        defer { StagingFiles.remove(path) }
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }) {
            do {
                try await FileIO().writeFile(
                    contents: ExactLengthBody(base: request.body, expected: declared), path: path, context: context)
            } catch let mismatch as ExactLengthBody<RequestBody>.Mismatch {
                throw gate.refuse(request, .badRequest(mismatch.detail))
            }
        } else {
            try await FileIO().writeFile(contents: request.body, path: path, context: context)
        }
        // Again once the body is in: the attempt may have ended while it arrived.
        guard try await gate.isLive(task, attempt: authorization.attempt) else {
            throw gate.refuse(request, .unauthorized("the token's attempt ended during the upload", scheme: "Ponos"))
        }
        let contentType = request.headers[.contentType].flatMap { $0.isEmpty ? nil : $0 } ?? ContentTypeGuess.forName(name.value)
        let stored = try await dependencies.artifacts.store(ArtifactOwner(task), name: name, file: path, contentType: contentType)
        dependencies.logger.info(
            "artifact uploaded",
            metadata: ["task": "\(task.id.uuidString.lowercased())", "artifact": "\(name)", "size": "\(stored.size)"])
        return APIJSON.response(ArtifactView(stored, taskID: task.id), status: .created)
    }

    func retrieveTask(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let task = try await gate.readableTask(context.parameters.get("id"), authorization, request)
        return APIJSON.response(WorkerTaskView(task))
    }

    /// A plain list (the schema marks it `x-paginated: false`): a task has few artifacts.
    func listArtifacts(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let task = try await gate.readableTask(context.parameters.get("id"), authorization, request)
        let artifacts = try await dependencies.artifacts.list(ArtifactOwner(task))
        return APIJSON.response(artifacts.map { ArtifactView($0, taskID: task.id) })
    }

    func createArtifact(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let task = try await gate.writableTask(context.parameters.get("id"), authorization, request)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumJSONBody)
        let wanted: NewArtifact
        switch NewArtifact.parse(Data(buffer: body)) {
        case .success(let artifact): wanted = artifact
        case .failure(let refusal): throw gate.refuse(request, refusal)
        }
        let owner = ArtifactOwner(task)
        let now = dependencies.now()
        let putURL: String
        if let direct = try await dependencies.artifacts.directUploadURL(owner, name: wanted.name, validFor: Self.urlLifetime) {
            putURL = direct.absoluteString
        } else {
            let grant = UploadSignature(
                taskID: task.id, attempt: authorization.attempt, name: wanted.name, size: wanted.size,
                expires: Int64(now.timeIntervalSince1970.rounded(.down)) + Self.urlLifetime.components.seconds)
            putURL = origin.origin(of: request) + grant.path(key: dependencies.uploadKey)
        }
        let existing = try await dependencies.artifacts.artifact(owner, name: wanted.name)
        let artifact = Artifact(
            name: wanted.name, size: wanted.size, contentType: wanted.contentType ?? ContentTypeGuess.forName(wanted.name.value),
            created: existing?.created ?? now, updated: now)
        return APIJSON.response(ArtifactView(artifact, taskID: task.id, putURL: putURL), status: .created)
    }

    /// A redirect to the store's pre-signed URL when it has one, else the bytes, streamed from a
    /// staging copy (the store may be remote; the copy also keeps a replaced artifact whole).
    func downloadArtifact(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let task = try await gate.readableTask(context.parameters.get("id"), authorization, request)
        let name = try artifactName(request, context)
        let owner = ArtifactOwner(task)
        guard let artifact = try await dependencies.artifacts.artifact(owner, name: name) else {
            throw gate.refuse(request, .notFound("task \(task.id.uuidString.lowercased()) has no artifact \"\(name)\""))
        }
        if let url = try await dependencies.artifacts.directDownloadURL(owner, name: name, validFor: Self.urlLifetime) {
            return Response(status: .found, headers: [.location: url.absoluteString, .contentLength: "0"])
        }
        let staging = StagingFiles(directory: dependencies.uploadDirectory)
        let path = try staging.newPath("download")
        do {
            try await dependencies.artifacts.fetch(owner, name: name, to: path)
        } catch let error as ArtifactStoreError where error.kind == .notFound {
            StagingFiles.remove(path)
            throw gate.refuse(request, .notFound(error.message))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        let body: ResponseBody
        do {
            body = try await FileIO().loadFile(path: path, context: context)
        } catch {
            StagingFiles.remove(path)
            throw error
        }
        let cleaned = ResponseBody(contentLength: size) { writer in
            defer { StagingFiles.remove(path) }
            try await body.write(writer)
        }
        return Response(
            status: .ok,
            headers: [.contentType: artifact.contentType, .contentLength: String(size)],
            body: cleaned)
    }

    /// The `{path}` of an artifact route as a flat artifact name; a logged 400 otherwise.
    private func artifactName(_ request: Request, _ context: BasicRequestContext) throws -> ArtifactName {
        let raw = context.parameters.get("path") ?? ""
        do {
            return try ArtifactName(raw.removingPercentEncoding ?? raw)
        } catch {
            throw gate.refuse(request, .badRequest(error.description))
        }
    }
}
