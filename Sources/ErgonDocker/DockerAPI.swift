import Foundation

/// The Engine API's JSON shapes this package reads and writes (only the fields it uses).
public enum DockerAPI {
    /// `GET /version`.
    public struct VersionInfo: Decodable, Sendable {
        /// The engine's release (`20.10.24`).
        public var version: String
        /// The newest API version the engine speaks.
        public var apiVersion: String
        /// The oldest API version the engine accepts.
        public var minAPIVersion: String?

        enum CodingKeys: String, CodingKey {
            case version = "Version"
            case apiVersion = "ApiVersion"
            case minAPIVersion = "MinAPIVersion"
        }
    }

    /// One entry of `GET /containers/json`.
    public struct ContainerSummary: Decodable, Sendable {
        /// The container id.
        public var id: String
        /// Names, each with a leading `/`.
        public var names: [String]?
        /// The image the container was created from.
        public var image: String?
        /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
        public var state: String
        /// The engine's human status (`Exited (0) 3 seconds ago`).
        public var status: String?
        /// Labels.
        public var labels: [String: String]?
        /// Creation time, Unix seconds.
        public var created: Int64?

        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case names = "Names"
            case image = "Image"
            case state = "State"
            case status = "Status"
            case labels = "Labels"
            case created = "Created"
        }
    }

    /// The part of `GET /containers/{id}/json` this package reads.
    public struct ContainerInspect: Decodable, Sendable {
        /// The container id.
        public var id: String
        /// The container's state.
        public var state: State
        /// The container's configuration.
        public var config: Config?

        /// `State` of an inspected container.
        public struct State: Decodable, Sendable {
            /// Same words as the summary's `State`.
            public var status: String
            /// The exit code (meaningful once exited; 127/126 after a failed start).
            public var exitCode: Int?
            /// Why the container could not start, when it could not.
            public var error: String?
            /// True when the kernel killed it for memory.
            public var oomKilled: Bool?

            enum CodingKeys: String, CodingKey {
                case status = "Status"
                case exitCode = "ExitCode"
                case error = "Error"
                case oomKilled = "OOMKilled"
            }
        }

        /// `Config` of an inspected container.
        public struct Config: Decodable, Sendable {
            /// True when the container has a TTY (its logs are then not multiplexed).
            public var tty: Bool?
            /// Labels.
            public var labels: [String: String]?
            /// Environment, `KEY=VALUE`.
            public var env: [String]?

            enum CodingKeys: String, CodingKey {
                case tty = "Tty"
                case labels = "Labels"
                case env = "Env"
            }
        }

        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case state = "State"
            case config = "Config"
        }
    }

    /// The body of `POST /containers/create`.
    public struct ContainerCreate: Encodable, Equatable, Sendable {
        /// The image reference.
        public var image: String
        /// The command; nil keeps the image's.
        public var cmd: [String]?
        /// The entrypoint; nil keeps the image's, `[""]` clears it (and the image's command).
        public var entrypoint: [String]?
        /// `KEY=VALUE` entries.
        public var env: [String]
        /// The working directory; nil keeps the image's.
        public var workingDir: String?
        /// Labels.
        public var labels: [String: String]
        /// Host-side settings.
        public var hostConfig: HostConfig

        /// Creates a body.
        public init(
            image: String, cmd: [String]?, entrypoint: [String]?, env: [String], workingDir: String?,
            labels: [String: String], hostConfig: HostConfig
        ) {
            self.image = image
            self.cmd = cmd
            self.entrypoint = entrypoint
            self.env = env
            self.workingDir = workingDir
            self.labels = labels
            self.hostConfig = hostConfig
        }

        enum CodingKeys: String, CodingKey {
            case image = "Image"
            case cmd = "Cmd"
            case entrypoint = "Entrypoint"
            case env = "Env"
            case workingDir = "WorkingDir"
            case labels = "Labels"
            case hostConfig = "HostConfig"
        }
    }

    /// `HostConfig` of a container create.
    public struct HostConfig: Encodable, Equatable, Sendable {
        /// `HOST:CONTAINER[:ro|rw]` bind mounts.
        public var binds: [String]
        /// Named volume mounts.
        public var mounts: [Mount]
        /// `host`, `none`, a network name; nil for the engine's default.
        public var networkMode: String?
        /// GPU requests.
        public var deviceRequests: [DeviceRequest]?

        /// Creates a host config.
        public init(binds: [String], mounts: [Mount], networkMode: String?, deviceRequests: [DeviceRequest]?) {
            self.binds = binds
            self.mounts = mounts
            self.networkMode = networkMode
            self.deviceRequests = deviceRequests
        }

        enum CodingKeys: String, CodingKey {
            case binds = "Binds"
            case mounts = "Mounts"
            case networkMode = "NetworkMode"
            case deviceRequests = "DeviceRequests"
        }
    }

    /// A mount of a named volume.
    public struct Mount: Encodable, Equatable, Sendable {
        /// Always `volume` here.
        public var type: String
        /// The volume name.
        public var source: String
        /// The path inside the container.
        public var target: String

        /// A named volume mounted at `target`.
        public init(volume: String, target: String) {
            self.type = "volume"
            self.source = volume
            self.target = target
        }

        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case source = "Source"
            case target = "Target"
        }
    }

    /// One `HostConfig.DeviceRequests` entry.
    public struct DeviceRequest: Encodable, Equatable, Sendable {
        /// The device driver (`nvidia`).
        public var driver: String
        /// Device ids (indexes or UUIDs).
        public var deviceIDs: [String]
        /// Capability sets, e.g. `[["gpu"]]`.
        public var capabilities: [[String]]

        /// One GPU for the nvidia driver.
        public static func nvidiaGPU(_ device: String) -> DeviceRequest {
            DeviceRequest(driver: "nvidia", deviceIDs: [device], capabilities: [["gpu"]])
        }

        /// Creates a device request.
        public init(driver: String, deviceIDs: [String], capabilities: [[String]]) {
            self.driver = driver
            self.deviceIDs = deviceIDs
            self.capabilities = capabilities
        }

        enum CodingKeys: String, CodingKey {
            case driver = "Driver"
            case deviceIDs = "DeviceIDs"
            case capabilities = "Capabilities"
        }
    }

    /// The answer of `POST /containers/create`.
    public struct ContainerCreated: Decodable, Sendable {
        /// The new container's id.
        public var id: String
        /// Warnings the engine gave.
        public var warnings: [String]?

        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case warnings = "Warnings"
        }
    }

    /// One message of `GET /events`.
    public struct Event: Decodable, Sendable {
        /// `container`, `image`, …
        public var type: String?
        /// `start`, `die`, `destroy`, …
        public var action: String?
        /// The object the event is about.
        public var actor: Actor?

        /// The object of an event.
        public struct Actor: Decodable, Sendable {
            /// Its id.
            public var id: String?
            /// Its attributes (labels, `exitCode`, …).
            public var attributes: [String: String]?

            enum CodingKeys: String, CodingKey {
                case id = "ID"
                case attributes = "Attributes"
            }
        }

        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case action = "Action"
            case actor = "Actor"
        }
    }
}
