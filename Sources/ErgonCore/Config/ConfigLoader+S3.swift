import Foundation

extension ConfigLoader {
    static let s3Keys = ["endpoint", "region", "addressing", "access_key_id", "secret_access_key", "session_token", "part_checksums"]

    /// Reads `s3`. Keys the file leaves out come from the standard AWS variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`). When an `s3://` store
    /// store (logs or artifacts) is configured the credentials are required. No message here ever shows a secret.
    static func readS3(
        _ section: DocumentNode?, environment: [String: String], requiredBy: String?, storeNode: DocumentNode?
    ) throws(DocumentNode.Fault) -> ErgonConfig.S3 {
        var s3 = ErgonConfig.S3()
        let fields = try section?.fields(allowed: s3Keys)
        let variable = { (names: [String]) in names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        if let node = fields?["endpoint"], !node.isNull {
            let value = try node.nonEmptyString("the service's origin, e.g. http://127.0.0.1:9000")
            guard isEndpoint(value) else {
                throw node.fault(.invalidValue, "invalid endpoint \(node.shown) (expected http(s)://HOST[:PORT] with no path, e.g. http://127.0.0.1:9000)")
            }
            s3.endpoint = value
        } else if let value = variable(["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]) {
            guard isEndpoint(value) else {
                throw DocumentNode.Fault(
                    kind: .invalidValue, path: "s3.endpoint",
                    problem: "AWS_ENDPOINT_URL(_S3) is \"\(value)\", not http(s)://HOST[:PORT]", line: section?.line)
            }
            s3.endpoint = value
        }
        if let node = fields?["region"], !node.isNull {
            s3.region = try node.nonEmptyString("a region name, e.g. us-east-1")
        } else if let value = variable(["AWS_REGION", "AWS_DEFAULT_REGION"]) {
            s3.region = value
        }
        if let node = fields?["addressing"], !node.isNull {
            let value = try node.nonEmptyString("path or virtual")
            guard value == "path" || value == "virtual" else {
                throw node.fault(.invalidValue, "unknown addressing \(node.shown) (accepted: path, virtual)")
            }
            s3.addressing = value
        }
        if let node = fields?["part_checksums"], !node.isNull {
            s3.partChecksums = try node.bool()
        }
        if let node = fields?["access_key_id"], !node.isNull {
            s3.accessKeyID = try credential(node, "an access key id, e.g. ${AWS_ACCESS_KEY_ID}")
        } else {
            s3.accessKeyID = variable(["AWS_ACCESS_KEY_ID"])
        }
        if let node = fields?["secret_access_key"], !node.isNull {
            s3.secretAccessKey = ErgonConfig.Secret(try credential(node, "a secret key, e.g. ${AWS_SECRET_ACCESS_KEY}"))
        } else {
            s3.secretAccessKey = variable(["AWS_SECRET_ACCESS_KEY"]).map(ErgonConfig.Secret.init)
        }
        if let node = fields?["session_token"], !node.isNull {
            s3.sessionToken = ErgonConfig.Secret(try credential(node, "a session token, e.g. ${AWS_SESSION_TOKEN}"))
        } else if fields?["access_key_id"] == nil {
            // A token belongs to the keys it came with: only taken from the environment with them.
            s3.sessionToken = variable(["AWS_SESSION_TOKEN"]).map(ErgonConfig.Secret.init)
        }
        if let requiredBy {
            if s3.accessKeyID == nil || s3.secretAccessKey == nil {
                let missing = s3.accessKeyID == nil ? "access_key_id" : "secret_access_key"
                let variableName = s3.accessKeyID == nil ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"
                throw DocumentNode.Fault(
                    kind: .missing, path: "s3.\(missing)",
                    problem: "required by the s3:// \(requiredBy) (set it, e.g. \(missing): ${\(variableName)}, or export \(variableName))",
                    line: (section ?? storeNode)?.line)
            }
        }
        return s3
    }

    /// Reads a credential without ever echoing its value.
    private static func credential(_ node: DocumentNode, _ what: String) throws(DocumentNode.Fault) -> String {
        guard let value = try? node.string(), !value.isEmpty else {
            throw node.fault(.wrongType, "expected \(what)")
        }
        guard !value.contains(where: { $0.isWhitespace }) else {
            throw node.fault(.invalidValue, "the value holds whitespace (check the variable it comes from)")
        }
        return value
    }

    private static func isEndpoint(_ value: String) -> Bool {
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", components.host?.isEmpty == false,
            components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil
        else { return false }
        return true
    }
}
