import Foundation

extension ConfigLoader {
    static let dockerKeys = ["socket", "gpus", "volumes", "registries", "network", "cache_usage"]
    static let registryKeys = ["host", "username", "password"]
    static let networkModes = ["default", "host", "none"]

    static func readDocker(_ section: DocumentNode?, paths: ConfigPaths) throws(DocumentNode.Fault) -> ErgonConfig.Docker {
        var docker = ErgonConfig.Docker()
        guard let section else { return docker }
        let fields = try section.fields(allowed: dockerKeys)
        if let node = fields["socket"] { docker.socket = try readSocket(node, paths: paths) }
        if let node = fields["gpus"] { docker.gpus = try readGPUs(node) }
        if let node = fields["volumes"] { docker.volumes = try node.list().map { item throws(DocumentNode.Fault) in try readBind(item) } }
        if let node = fields["registries"] { docker.registries = try readRegistries(node) }
        if let node = fields["network"] {
            let value = try node.nonEmptyString(networkModes.joined(separator: ", "))
            guard networkModes.contains(value) else {
                throw node.fault(.invalidValue, "unknown network mode \(node.shown)" + KeySuggestion.hint(for: value, among: networkModes))
            }
            docker.network = value
        }
        if let node = fields["cache_usage"] {
            let value = try node.nonEmptyString("cache_first, remote_first or require_pull")
            let names = ErgonConfig.CacheUsage.allCases.map(\.rawValue)
            guard let usage = ErgonConfig.CacheUsage(rawValue: value) else {
                throw node.fault(.invalidValue, "unknown cache_usage \(node.shown) (one of \(names.joined(separator: ", ")))" + KeySuggestion.hint(for: value, among: names))
            }
            docker.cacheUsage = usage
        }
        return docker
    }

    private static func readSocket(_ node: DocumentNode, paths: ConfigPaths) throws(DocumentNode.Fault) -> String {
        let value = try node.nonEmptyString("the engine's unix socket, e.g. /var/run/docker.sock")
        let path = value.hasPrefix("unix://") ? String(value.dropFirst("unix://".count)) : value
        if path.contains("://") || path.isEmpty {
            throw node.fault(.invalidValue, "unsupported socket \(node.shown) (expected the path of the engine's unix socket, e.g. /var/run/docker.sock or unix:///var/run/docker.sock)")
        }
        return try paths.resolve(path, at: node)
    }

    private static func readGPUs(_ node: DocumentNode) throws(DocumentNode.Fault) -> ErgonConfig.GPUSelection {
        let accepted = "expected \"all\", a list of device ids such as [0, 1] or [GPU-3a1b…], or nothing for no GPU"
        if node.isList {
            var devices: [String] = []
            for item in try node.list() {
                let id = try item.nonEmptyString("a device id")
                guard !id.contains(where: { $0.isWhitespace || $0 == "," }) else {
                    throw item.fault(.invalidValue, "invalid device id \(item.shown) (one index or UUID per list item)")
                }
                guard !devices.contains(id) else { throw item.fault(.invalidValue, "device \(item.shown) is listed twice") }
                devices.append(id)
            }
            return devices.isEmpty ? .none : .devices(devices)
        }
        guard !node.isMapping else { throw node.fault(.wrongType, "\(accepted), got \(node.shown)") }
        switch try node.string().trimmingCharacters(in: .whitespaces) {
        case "all": return .all
        case "", "none": return .none
        default: throw node.fault(.invalidValue, "invalid GPU selection \(node.shown) (\(accepted))")
        }
    }

    /// Checks one `HOST:CONTAINER[:ro|rw]` bind and returns it as written.
    private static func readBind(_ node: DocumentNode) throws(DocumentNode.Fault) -> String {
        let value = try node.nonEmptyString("HOST:CONTAINER[:ro|rw]")
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        let form = "expected HOST:CONTAINER or HOST:CONTAINER:ro|rw with absolute paths, e.g. /srv/models:/models:ro"
        guard parts.count == 2 || parts.count == 3 else { throw node.fault(.invalidValue, "invalid volume \(node.shown) (\(form))") }
        guard parts[0].hasPrefix("/") else {
            throw node.fault(.invalidValue, "the host path of \(node.shown) is not absolute (\(form))")
        }
        guard parts[1].hasPrefix("/") else {
            throw node.fault(.invalidValue, "the container path of \(node.shown) is not absolute (\(form))")
        }
        if parts.count == 3, parts[2] != "ro", parts[2] != "rw" {
            throw node.fault(.invalidValue, "the mount mode of \(node.shown) is neither ro nor rw (\(form))")
        }
        return value
    }

    static func readRegistries(_ node: DocumentNode) throws(DocumentNode.Fault) -> [ErgonConfig.RegistryAuth] {
        var registries: [ErgonConfig.RegistryAuth] = []
        for item in try node.list() {
            let fields = try item.fields(allowed: registryKeys)
            let hostNode = try fields.required("host", "the registry host, e.g. ghcr.io; docker.io for Docker Hub")
            let host = try hostNode.nonEmptyString("a registry host")
            guard !host.contains("/"), !host.contains(where: \.isWhitespace) else {
                throw hostNode.fault(.invalidValue, "invalid registry host \(hostNode.shown) (expected a host such as ghcr.io or registry.example.org:5000, without scheme or path)")
            }
            guard !registries.contains(where: { $0.host == host }) else {
                throw hostNode.fault(.invalidValue, "registry \(hostNode.shown) is listed twice")
            }
            let username = try fields.required("username", "the user to log in as").nonEmptyString("a user name")
            let password = try fields.required("password", "write password: ${VARIABLE} to read it from the environment")
                .nonEmptyString("a password or token, e.g. ${REGISTRY_TOKEN}")
            registries.append(.init(host: host, username: username, password: password))
        }
        return registries
    }
}
