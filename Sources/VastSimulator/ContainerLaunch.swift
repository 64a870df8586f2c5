import ErgonCore
import ErgonDocker

/// How an instance's container is made in `--docker` mode, following Vast's rules.
struct ContainerLaunch: Sendable {
    var instanceID: Int
    /// Which (re)launch of the instance this is.
    var generation: Int
    var image: String
    var credentials: ErgonConfig.RegistryAuth?
    var body: DockerAPI.ContainerCreate

    /// The container for `instance`: its env plus the variables Vast adds, host networking, our
    /// labels, and the command Vast would run.
    ///
    /// With `runtype: args`, a set `onstart` replaces the entrypoint and `args` is the command;
    /// without `onstart` the image's entrypoint runs `args`. Other runtypes (ssh, jupyter) run
    /// `onstart` as a script and keep the container up, as Vast's own init does.
    init(instance: SimulatedInstance, generation: Int, serverTag: String) {
        let request = instance.request
        var env = request.env.filter { !$0.0.hasPrefix("-") }.map { "\($0.0)=\($0.1)" }
        env += [
            "CONTAINER_ID=\(instance.id)", "CONTAINER_API_KEY=\(instance.apiKey)",
            "VAST_CONTAINERLABEL=C.\(instance.id)",
        ]
        let entrypoint: [String]?
        let command: [String]?
        if request.isArgsRuntype {
            if let onstart = request.onstart, !onstart.isEmpty {
                entrypoint = [onstart]
                command = request.args ?? []
            } else {
                entrypoint = nil
                command = (request.args?.isEmpty ?? true) ? nil : request.args
            }
        } else {
            entrypoint = ["/bin/sh", "-c", (request.onstart ?? "") + "\nwhile true; do sleep 3600; done"]
            command = []
        }
        self.instanceID = instance.id
        self.generation = generation
        self.image = request.image
        self.credentials = request.imageLogin.flatMap(Self.credentials(fromLogin:))
        self.body = DockerAPI.ContainerCreate(
            image: request.image, cmd: command, entrypoint: entrypoint, env: env, workingDir: nil,
            labels: [
                DockerRunner.instanceLabel: String(instance.id), DockerRunner.serverLabel: serverTag,
                DockerRunner.generationLabel: String(generation),
            ],
            hostConfig: DockerAPI.HostConfig(binds: [], mounts: [], networkMode: "host", deviceRequests: nil))
    }

    /// Reads Vast's `image_login` (`-u USER -p TOKEN REGISTRY`).
    static func credentials(fromLogin login: String) -> ErgonConfig.RegistryAuth? {
        let words = login.split(separator: " ").map(String.init)
        var user: String?
        var password: String?
        var registry: String?
        var index = 0
        while index < words.count {
            switch words[index] {
            case "-u", "--username":
                user = words.indices.contains(index + 1) ? words[index + 1] : nil
                index += 2
            case "-p", "--password":
                password = words.indices.contains(index + 1) ? words[index + 1] : nil
                index += 2
            default:
                registry = words[index]
                index += 1
            }
        }
        guard let user, let password else { return nil }
        return ErgonConfig.RegistryAuth(host: registry ?? "docker.io", username: user, password: password)
    }
}
