import ErgonCore
import Foundation
import Hummingbird
import Logging

/// How a worker on a rented host gets its task's resources (vast mode: the agent cannot write to
/// that disk, and pre-signed URLs are too long for Vast's environment entries):
/// `RetrieveModelVersion` for the model arkindex-base-worker fetches at bootstrap, and
/// `ListTaskResources` for the others. Both answer the agent's signed download URLs, served
/// from the agent's cache by `GET /api/v1/resource/{task}/{index}`.
struct ResourceRoutes: Sendable {
    let dependencies: ServerDependencies
    let gate: WorkerGate
    let origin: RequestOrigin

    func add(to router: Router<BasicRequestContext>) {
        router.get("/api/v1/modelversion/{id}/") { request, context in try await retrieveModelVersion(request, context) }
        router.get("/api/v1/task/{id}/resources/") { request, context in try await listResources(request, context) }
        router.get("/api/v1/resource/{task}/{index}") { request, context in try await download(request, context) }
    }

    func retrieveModelVersion(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        let text = context.parameters.get("id") ?? ""
        guard let id = ModelVersionID(text) else {
            throw gate.refuse(request, .notFound("no model version \"\(text)\" (ids are TASK.INDEX, as ARKINDEX_MODEL_VERSION gives)"))
        }
        try ownTask(id.taskID, authorization, request)
        let held = try await heldResources(authorization.task, request)
        guard let resource = held.first(where: { $0.index == id.index }), resource.resource.model else {
            throw gate.refuse(request, .notFound("task \(id.taskID.uuidString.lowercased()) has no model at index \(id.index)"))
        }
        let url = resource.isFolder ? nil : downloadURL(resource, authorization, request)
        return APIJSON.response(ModelVersionView(id: id, resource: resource, downloadURL: url))
    }

    /// Every resource of the token's own task, with a download URL for each file.
    func listResources(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = try await gate.authorize(request)
        guard let id = context.parameters.get("id").flatMap({ UUID(uuidString: $0) }) else {
            throw gate.refuse(request, .notFound("no such task"))
        }
        try ownTask(id, authorization, request)
        let held = try await heldResources(authorization.task, request)
        return APIJSON.response(held.map { resource in
            TaskResourceView(resource, downloadURL: resource.isFolder ? nil : downloadURL(resource, authorization, request))
        })
    }

    /// The bytes of one held resource, for a signed URL whose attempt still runs.
    func download(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let taskID = context.parameters.get("task").flatMap({ UUID(uuidString: $0) }),
            let index = context.parameters.get("index").flatMap({ Int($0) }),
            let attempt = query.get("attempt").flatMap({ Int($0) }),
            let expires = query.get("expires").flatMap({ Int64($0) }),
            let signature = query.get("signature")
        else {
            throw gate.refuse(request, .forbidden("not a signed resource URL: ask RetrieveModelVersion or ListTaskResources for one"))
        }
        let grant = ResourceSignature(taskID: taskID, attempt: attempt, index: index, expires: expires)
        guard grant.isSigned(by: signature, key: dependencies.uploadKey) else {
            throw gate.refuse(request, .forbidden("the resource URL's signature does not match"))
        }
        guard Double(expires) > dependencies.now().timeIntervalSince1970 else {
            throw gate.refuse(request, .forbidden("the resource URL expired: ask for a new one"))
        }
        guard let task = try await dependencies.queue.task(taskID), try await gate.isLive(task, attempt: attempt) else {
            throw gate.refuse(request, .forbidden("the attempt this resource URL was made for has ended"))
        }
        let held = try await heldResources(task, request)
        guard let resource = held.first(where: { $0.index == index }), !resource.isFolder else {
            throw gate.refuse(request, .notFound("task \(taskID.uuidString.lowercased()) holds no file resource at index \(index)"))
        }
        let body = try await FileIO().loadFile(path: resource.path, context: context)
        return Response(
            status: .ok, headers: [.contentType: resource.contentType, .contentLength: String(resource.size)], body: body)
    }

    /// Resources are handed only to the token's own task: their URLs are bound to its attempt.
    private func ownTask(_ id: UUID, _ authorization: WorkerAuthorization, _ request: Request) throws {
        guard authorization.task.id == id else {
            throw gate.refuse(request, .forbidden("a task's token reads only its own resources"))
        }
    }

    private func heldResources(_ task: TaskRecord, _ request: Request) async throws -> [PreparedResource] {
        guard let provider = dependencies.resources else {
            throw gate.refuse(request, .notFound("this agent serves no task resources"))
        }
        return await provider.held(taskID: task.id)
    }

    private func downloadURL(_ resource: PreparedResource, _ authorization: WorkerAuthorization, _ request: Request) -> String {
        let grant = ResourceSignature(
            taskID: authorization.task.id, attempt: authorization.attempt, index: resource.index,
            expires: Int64(dependencies.now().timeIntervalSince1970.rounded(.down)) + WorkerRoutes.urlLifetime.components.seconds)
        return origin.origin(of: request) + grant.path(key: dependencies.uploadKey)
    }
}

/// `RetrieveModelVersion`'s answer, in the fields arkindex-base-worker reads (`s3_url`).
struct ModelVersionView: Encodable {
    struct Model: Encodable {
        var id: String
        var name: String
    }
    var id: String
    var model: Model
    var state = "available"
    var size: Int64
    var hash: String?
    var s3_url: String?
    var content_type: String
    var configuration: [String: String] = [:]

    init(id: ModelVersionID, resource: PreparedResource, downloadURL: String?) {
        self.id = id.description
        let name = URL(string: resource.resource.url)?.lastPathComponent ?? resource.resource.url
        model = Model(id: id.taskID.uuidString.lowercased(), name: name)
        size = resource.size
        hash = resource.resource.sha256
        s3_url = downloadURL
        content_type = resource.contentType
    }
}

/// One entry of `ListTaskResources`. The source URL is left out: it may carry credentials.
struct TaskResourceView: Encodable {
    var index: Int
    var type: String
    var target: String
    var model: Bool
    var unpack: Bool
    var sha256: String?
    var size: Int64
    var content_type: String
    var folder: Bool
    var download_url: String?

    init(_ resource: PreparedResource, downloadURL: String?) {
        index = resource.index
        type = resource.resource.type
        target = resource.resource.target
        model = resource.resource.model
        unpack = resource.resource.unpack
        sha256 = resource.resource.sha256
        size = resource.size
        content_type = resource.contentType
        folder = resource.isFolder
        download_url = downloadURL
    }
}
