import Foundation

/// Readers for the task fields both workflow formats share.
extension WorkflowLoader {
    static let resourceKeys = ["type", "url", "target", "sha256", "unpack", "model"]
    static let vastKeys = ["offer_filters", "disk_gb", "acceptance_check", "expected_runtime", "image_size_hint"]
    /// Resource types and the URL schemes each accepts.
    static let resourceSchemes: [(type: String, schemes: [String], example: String)] = [
        ("S3", ["s3"], "s3://bucket/path"),
        ("HTTP", ["http", "https"], "https://example.org/model.tar.gz"),
        ("HF", ["hf"], "hf://organisation/model/config.json"),
    ]

    static func readImage(_ node: DocumentNode) throws(DocumentNode.Fault) -> String {
        let image = try node.nonEmptyString("an image reference such as ubuntu:24.04")
        guard !image.contains(where: \.isWhitespace) else {
            throw node.fault(.invalidValue, "invalid image \(node.shown) (an image reference has no spaces, e.g. registry.example.org/worker:1.0)")
        }
        return image
    }

    /// A string runs through a shell; a list is exec form. Present but empty is an error:
    /// leave the key out to keep the image's own command.
    static func readCommand(_ node: DocumentNode) throws(DocumentNode.Fault) -> TaskCommand {
        let empty = "is empty (leave command out to run the image's own command)"
        if node.isNull { throw node.fault(.invalidValue, empty) }
        let command: TaskCommand
        if node.isList {
            command = .exec(try node.list().map { item throws(DocumentNode.Fault) in try item.string() })
        } else if node.isMapping {
            throw node.fault(.wrongType, "expected a string (run through a shell) or a list (exec form), got \(node.shown)")
        } else {
            command = .shell(try node.string())
        }
        guard !command.isEmpty else { throw node.fault(.invalidValue, empty) }
        return command
    }

    /// A string is one element; a list is taken as is; `[]` means no entrypoint.
    static func readEntrypoint(_ node: DocumentNode) throws(DocumentNode.Fault) -> [String] {
        guard node.isList else {
            guard !node.isMapping else { throw node.fault(.wrongType, "expected a string or a list, got \(node.shown)") }
            return [try node.nonEmptyString("a program, or [] for no entrypoint")]
        }
        let items = try node.list()
        let entrypoint = try items.map { item throws(DocumentNode.Fault) in try item.string() }
        if let first = entrypoint.first, first.trimmingCharacters(in: .whitespaces).isEmpty {
            throw items[0].fault(.invalidValue, "is empty (the first element is the program; write [] for no entrypoint)")
        }
        return entrypoint
    }

    /// Scalar values become strings (`16` → `"16"`); keys must be valid variable names.
    static func readEnv(_ node: DocumentNode) throws(DocumentNode.Fault) -> [String: String] {
        var env: [String: String] = [:]
        for (key, value) in try node.entries() {
            guard EnvironmentSubstitution.isVariableName(key) else {
                throw value.fault(.invalidValue, "invalid variable name (use letters, digits and \"_\", not starting with a digit)")
            }
            if value.isNull { throw value.fault(.wrongType, "expected a value, got null (write \"\" for an empty value)") }
            guard !value.isMapping, !value.isList else { throw value.fault(.wrongType, "expected a string, got \(value.shown)") }
            env[key] = try value.string()
        }
        return env
    }

    static func readAbsolutePath(_ node: DocumentNode, _ what: String) throws(DocumentNode.Fault) -> String {
        let path = try node.nonEmptyString("\(what), an absolute path")
        guard path.hasPrefix("/") else { throw node.fault(.invalidValue, "\(node.shown) is not an absolute path (expected \(what), e.g. /work)") }
        return path
    }

    /// Workflow volume names: each a valid Docker volume name, none twice.
    static func readVolumeNames(_ node: DocumentNode) throws(DocumentNode.Fault) -> [String] {
        var names: [String] = []
        for item in try node.list() {
            let name = try item.nonEmptyString("a volume name")
            try checkVolumeName(name, at: item)
            guard !names.contains(name) else { throw item.fault(.invalidValue, "volume \(item.shown) is declared twice") }
            names.append(name)
        }
        return names
    }

    static func checkVolumeName(_ name: String, at node: DocumentNode) throws(DocumentNode.Fault) {
        let valid = name.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        guard valid else {
            throw node.fault(.invalidValue, "invalid volume name \(node.shown) (use letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit)")
        }
    }

    /// `[{name, dest}]`, each naming a volume in `declared` and mounted at its own absolute path.
    static func readVolumeMounts(_ node: DocumentNode, declared: [String], declaredWhere: String) throws(DocumentNode.Fault) -> [VolumeMount] {
        var mounts: [VolumeMount] = []
        for item in try node.list() {
            let fields = try item.fields(allowed: ["name", "dest"])
            let nameNode = try fields.required("name", "the workflow volume to mount")
            let name = try nameNode.nonEmptyString("a volume name")
            guard declared.contains(name) else {
                let hint = KeySuggestion.closest(to: name, among: declared).map { "did you mean \"\($0)\"? " } ?? ""
                throw nameNode.fault(.undeclared, "volume \(nameNode.shown) is not declared (\(hint)declare it in \(declaredWhere))")
            }
            let destNode = try fields.required("dest", "where the volume appears in the container")
            let dest = try readAbsolutePath(destNode, "the mount point")
            guard dest != "/data", !dest.hasPrefix("/data/") else {
                throw destNode.fault(.invalidValue, "\(destNode.shown) is inside /data, where Ergon mounts the task's data directory (choose another path)")
            }
            guard !mounts.contains(where: { $0.dest == dest }) else {
                throw destNode.fault(.invalidValue, "two volumes are mounted at \(destNode.shown)")
            }
            mounts.append(VolumeMount(name: name, dest: dest))
        }
        return mounts
    }

    /// A task's resources: each valid, no two at one target, at most one marked `model`.
    static func readResources(_ node: DocumentNode) throws(DocumentNode.Fault) -> [TaskResource] {
        var resources: [TaskResource] = []
        for item in try node.list() {
            let resource = try readResource(item)
            if resource.target == "/data" || resource.target == "/" {
                throw item.fault(.invalidValue, "a resource cannot be mounted at \(resource.target) (pick a folder such as /models/name)")
            }
            if resource.target.contains(":") || resource.target.contains(",") {
                throw item.fault(.invalidValue, "the target \"\(resource.target)\" holds \":\" or \",\", which a container mount cannot take")
            }
            if resources.contains(where: { $0.target == resource.target }) {
                throw item.fault(.invalidValue, "two resources are mounted at \"\(resource.target)\"")
            }
            if resource.model, resources.contains(where: \.model) {
                throw item.fault(.invalidValue, "a second resource is marked model: true (a task has at most one model)")
            }
            resources.append(resource)
        }
        return resources
    }

    /// `{type: S3|HTTP|HF, url, target, sha256?, unpack?}` with a URL scheme matching the type.
    static func readResource(_ node: DocumentNode) throws(DocumentNode.Fault) -> TaskResource {
        try readResource(node, targetRequired: true)
    }

    /// As above; without `targetRequired` (the cache's required resources) there is no target.
    static func readResource(_ node: DocumentNode, targetRequired: Bool) throws(DocumentNode.Fault) -> TaskResource {
        let fields = try node.fields(allowed: targetRequired ? resourceKeys : ["type", "url", "sha256", "unpack"])
        let types = resourceSchemes.map(\.type)
        let typeNode = try fields.required("type", "one of \(types.joined(separator: ", "))")
        let typeText = try typeNode.nonEmptyString(types.joined(separator: ", "))
        guard let kind = resourceSchemes.first(where: { $0.type == typeText.uppercased() }) else {
            throw typeNode.fault(.invalidValue, "unknown resource type \(typeNode.shown)" + KeySuggestion.hint(for: typeText, among: types))
        }
        let urlNode = try fields.required("url", "where to fetch the resource, e.g. \(kind.example)")
        let url = try urlNode.nonEmptyString("a URL such as \(kind.example)")
        let scheme = url.range(of: "://").map { String(url[..<$0.lowerBound]).lowercased() }
        guard let scheme, kind.schemes.contains(scheme), url.range(of: "://").map({ url[$0.upperBound...].isEmpty }) == false else {
            let schemes = kind.schemes.map { "\($0)://" }.joined(separator: " or ")
            throw urlNode.fault(.invalidValue, "a \(kind.type) resource needs a \(schemes) URL such as \(kind.example), got \(urlNode.shown)")
        }
        let target = targetRequired
            ? try readAbsolutePath(try fields.required("target", "where the resource appears in the container"), "the target") : ""
        var resource = TaskResource(type: kind.type, url: url, target: target)
        if let shaNode = fields["sha256"] {
            let sha = try shaNode.nonEmptyString("64 hexadecimal digits").lowercased()
            guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
                throw shaNode.fault(.invalidValue, "invalid sha256 \(shaNode.shown) (expected 64 hexadecimal digits)")
            }
            resource.sha256 = sha
            if resource.source.isS3Prefix {
                throw shaNode.fault(.invalidValue, "an S3 prefix (a URL ending in \"/\") is a folder of objects and has no single sha256")
            }
        }
        resource.unpack = try fields["unpack"]?.bool() ?? false
        if resource.unpack, resource.source.archiveFormat == nil, !resource.source.isS3Prefix {
            throw fields["unpack"]!.fault(
                .invalidValue, "cannot unpack \(urlNode.shown): only .tar, .tar.gz (.tgz) and .tar.zst archives are unpacked")
        }
        if kind.type == "HF", HuggingFacePath(url) == nil {
            throw urlNode.fault(.invalidValue, "invalid Hugging Face resource \(urlNode.shown) (expected hf://OWNER/REPO[@REVISION]/PATH, e.g. hf://teklia/pylaia-model@main/model.ckpt)")
        }
        resource.model = try fields["model"]?.bool() ?? false
        return resource
    }

    static func readVastOptions(_ node: DocumentNode) throws(DocumentNode.Fault) -> VastTaskOptions {
        let fields = try node.fields(allowed: vastKeys)
        var options = VastTaskOptions()
        options.offerFilters = try fields["offer_filters"]?.nonEmptyString("offer filter terms such as \"gpu_ram>=16\"")
        if let diskNode = fields["disk_gb"] {
            let disk = try diskNode.number()
            guard disk > 0 else { throw diskNode.fault(.invalidValue, "must be more than 0, got \(diskNode.shown)") }
            options.diskGB = disk
        }
        if let node = fields["expected_runtime"] { options.expectedRuntimeSeconds = Self.seconds(try node.duration(positive: true)) }
        if let node = fields["image_size_hint"] { options.imageSizeHint = try node.byteSize(positive: true) }
        if let checkNode = fields["acceptance_check"] {
            // `false` turns the agent's check off for this task; a string is its own check.
            if let on = try? checkNode.bool() {
                guard !on else {
                    throw checkNode.fault(.invalidValue, "name the command to run (e.g. \"nvidia-smi\"), or false for no check")
                }
                options.acceptanceCheck = ""
            } else {
                options.acceptanceCheck = try checkNode.nonEmptyString("a shell command such as \"nvidia-smi\", or false")
            }
        }
        return options
    }
}
