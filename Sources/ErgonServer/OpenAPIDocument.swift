import Foundation

/// The OpenAPI 3 document at `/api/v1/openapi/`. arkindex-client downloads it before it has a
/// token and then calls operations by `operationId`, joining each path to `ARKINDEX_API_URL`;
/// so it holds the worker operations of WORKER_CONTRACT.md under those ids, path parameters
/// named `id` and `path`, and no secrets. The operator operations are listed too.
enum OpenAPIDocument {
    /// The document, encoded once.
    static let json: Data = {
        // Only literals below: serialising them cannot fail.
        (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }()

    static var document: [String: Any] {
        [
            "openapi": "3.0.3",
            "info": [
                "title": "Ergon agent API",
                "version": "1",
                "description": "The worker API (Authorization: Ponos <task token>) and the operator task API (Authorization: Bearer <server.operator_token>).",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "ponos": ["type": "apiKey", "in": "header", "name": "Authorization"],
                    "operator": ["type": "http", "scheme": "bearer"],
                ],
                "schemas": schemas,
            ],
        ]
    }

    // MARK: paths

    static var paths: [String: Any] {
        [
            "/api/v1/task/{id}/": [
                "get": operation("RetrieveTask", "A task: its own or a parent's.", parameters: [pathParameter("id")],
                                 security: "ponos", response: ref("Task")),
            ],
            "/api/v1/task/{id}/artifacts/": [
                "get": operation("ListArtifacts", "A task's artifacts, as one plain list.", parameters: [pathParameter("id")],
                                 security: "ponos", response: ["type": "array", "items": ref("Artifact")], paginated: false),
                "post": operation("CreateArtifact", "Declares an artifact of the token's own task; answers where to PUT its bytes.",
                                  parameters: [pathParameter("id")], security: "ponos", response: ref("Artifact"),
                                  status: "201", body: newArtifact),
            ],
            "/api/v1/task/{id}/artifact/{path}": [
                "get": operation("DownloadArtifact", "An artifact's bytes, or a redirect to a pre-signed URL.",
                                 parameters: [pathParameter("id"), pathParameter("path")], security: "ponos",
                                 response: ["type": "string", "format": "binary"], mediaType: "application/octet-stream"),
                "put": operation("UploadArtifact", "Stores the request body as the artifact (one call, for shell tools).",
                                 parameters: [pathParameter("id"), pathParameter("path")], security: "ponos",
                                 response: ref("Artifact"), status: "201"),
            ],
            "/api/v1/modelversion/{id}/": [
                "get": operation("RetrieveModelVersion", "The task's model (ARKINDEX_MODEL_VERSION), with a download URL in s3_url.",
                                 parameters: [pathParameter("id")], security: "ponos", response: ref("ModelVersion")),
            ],
            "/api/v1/task/{id}/resources/": [
                "get": operation("ListTaskResources", "The token's own task's resources, each file with a download URL.",
                                 parameters: [pathParameter("id")], security: "ponos",
                                 response: ["type": "array", "items": ref("TaskResource")], paginated: false),
            ],
            "/api/v1/workflows": [
                "get": operation("ListWorkflows", "Every workflow with its state.", security: "operator",
                                 response: ["type": "array", "items": ref("Workflow")]),
                "post": operation("SubmitWorkflow", "Submits a workflow document (JSON or YAML, the format of `ergon submit`).",
                                  security: "operator", response: ref("WorkflowTasks"), status: "201",
                                  body: ["type": "object"], bodyTypes: ["application/json", "application/yaml"]),
            ],
            "/api/v1/workflows/{id}": [
                "get": operation("RetrieveWorkflow", "A workflow with its tasks.", parameters: [pathParameter("id")],
                                 security: "operator", response: ref("WorkflowTasks")),
            ],
            "/api/v1/workflows/{id}/cancel": [
                "post": operation("CancelWorkflow", "Cancels every task of the workflow that has not ended.",
                                  parameters: [pathParameter("id")], security: "operator", response: ref("WorkflowTasks")),
            ],
            "/api/v1/workflows/{id}/retry": [
                "post": operation("RetryWorkflow", "Re-runs the workflow's failed sub-trees.",
                                  parameters: [pathParameter("id")], security: "operator", response: ref("WorkflowTasks")),
            ],
            "/api/v1/tasks": [
                "get": operation("ListTasks", "Tasks, optionally of one workflow and in one state.",
                                 parameters: [queryParameter("workflow"), queryParameter("state")], security: "operator",
                                 response: ["type": "array", "items": ref("OperatorTask")], paginated: false),
            ],
            "/api/v1/tasks/{id}": [
                "get": operation("RetrieveTaskDetails", "A task (full id or unique prefix) with its attempts.",
                                 parameters: [pathParameter("id")], security: "operator", response: ref("TaskDetails")),
            ],
            "/api/v1/tasks/{id}/cancel": [
                "post": operation("CancelTask", "Cancels a task.", parameters: [pathParameter("id")], security: "operator",
                                  response: ref("OperatorTask")),
            ],
            "/api/v1/tasks/{id}/retry": [
                "post": operation("RetryTask", "Re-runs an ended task with a fresh attempt budget.",
                                  parameters: [pathParameter("id")], security: "operator", response: ref("OperatorTask")),
            ],
            "/api/v1/tasks/{id}/logs": [
                "get": operation("RetrieveTaskLogs", "An attempt's log from a byte offset, as text.",
                                 parameters: [pathParameter("id"), queryParameter("attempt", type: "integer"),
                                              queryParameter("from", type: "integer")],
                                 security: "operator", response: ["type": "string"], mediaType: "text/plain"),
            ],
        ]
    }

    static func operation(
        _ id: String, _ summary: String, parameters: [[String: Any]] = [], security: String, response: [String: Any],
        status: String = "200", mediaType: String = "application/json", paginated: Bool? = nil,
        body: [String: Any]? = nil, bodyTypes: [String] = ["application/json"]
    ) -> [String: Any] {
        var operation: [String: Any] = [
            "operationId": id,
            "summary": summary,
            "security": [[security: [String]()]],
            "responses": [
                status: ["description": "success", "content": [mediaType: ["schema": response]]],
                "default": ["description": "a refusal or failure", "content": ["application/json": ["schema": ref("Error")]]],
            ],
        ]
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let paginated { operation["x-paginated"] = paginated }
        if let body {
            operation["requestBody"] = [
                "required": true,
                "content": Dictionary(uniqueKeysWithValues: bodyTypes.map { ($0, ["schema": body] as [String: Any]) }),
            ]
        }
        return operation
    }

    static func pathParameter(_ name: String) -> [String: Any] {
        ["name": name, "in": "path", "required": true, "schema": ["type": "string"]]
    }

    static func queryParameter(_ name: String, type: String = "string") -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": ["type": type]]
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    // MARK: schemas

    /// `CreateArtifact`'s body, inline so the client names the field `body` (a `$ref` would
    /// name it after the schema, and arkindex-base-worker passes `body=`).
    static var newArtifact: [String: Any] {
        [
            "type": "object",
            "required": ["path", "size"],
            "properties": [
                "path": ["type": "string", "description": "a flat file name"],
                "content_type": ["type": "string"],
                "size": ["type": "integer", "minimum": 0],
            ],
        ]
    }

    static var schemas: [String: Any] {
        let string: [String: Any] = ["type": "string"]
        let nullableString: [String: Any] = ["type": "string", "nullable": true]
        let integer: [String: Any] = ["type": "integer"]
        let date: [String: Any] = ["type": "string", "format": "date-time"]
        let nullableDate: [String: Any] = ["type": "string", "format": "date-time", "nullable": true]
        return [
            "Error": object(["detail": string]),
            "Task": object([
                "id": string, "slug": string, "state": string, "workflow_id": string,
                "parents": ["type": "array", "items": string], "attempt": integer,
            ]),
            "Artifact": object([
                "id": string, "path": string, "size": integer, "content_type": string, "s3_put_url": nullableString,
                "created": date, "updated": date,
            ]),
            "ModelVersion": object([
                "id": string, "model": object(["id": string, "name": string]), "state": string, "size": integer,
                "hash": nullableString, "s3_url": nullableString, "content_type": string,
                "configuration": ["type": "object"],
            ]),
            "TaskResource": object([
                "index": integer, "type": string, "target": string, "model": ["type": "boolean"], "unpack": ["type": "boolean"],
                "sha256": nullableString, "size": integer, "content_type": string, "folder": ["type": "boolean"],
                "download_url": nullableString,
            ]),
            "Workflow": object(["id": string, "name": string, "created_at": date, "state": string,
                                "counts": ["type": "object", "additionalProperties": integer]]),
            "OperatorTask": object([
                "id": string, "slug": string, "state": string, "workflow_id": string, "attempt": integer,
                "max_attempts": integer, "exit_code": ["type": "integer", "nullable": true], "reason": nullableString,
                "image": string, "gpu": ["type": "boolean"], "priority": integer,
                "parents": ["type": "array", "items": string], "agent": nullableString, "created_at": date,
                "updated_at": date,
            ]),
            "Attempt": object([
                "number": integer, "agent": string, "phase": string, "instance_id": nullableString, "gpu": nullableString,
                "outcome": nullableString, "claimed_at": date, "started_at": nullableDate, "ended_at": nullableDate,
                "log_bytes": integer, "log": string,
            ]),
            "WorkflowTasks": object(["workflow": ref("Workflow"), "tasks": ["type": "array", "items": ref("OperatorTask")]]),
            "TaskDetails": object([
                "task": ref("OperatorTask"), "workflow_name": nullableString, "command": nullableString,
                "attempts": ["type": "array", "items": ref("Attempt")],
            ]),
        ]
    }

    static func object(_ properties: [String: Any]) -> [String: Any] {
        ["type": "object", "properties": properties]
    }
}
