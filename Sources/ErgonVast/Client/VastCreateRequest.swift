import Foundation

/// The body of `PUT /api/v0/asks/{offer id}/`: what to run on the instance a create rents.
public struct VastCreateRequest: Sendable, Equatable {
    /// The image reference (`registry/name:tag`).
    public var image: String
    /// Environment variables (sent as a JSON object: Vast rejects the string form here).
    public var env: [String: String]
    /// Disk to allocate, in GB (Vast wants at least 8).
    public var disk: Double
    /// The instance's label (how the agent finds its instances again).
    public var label: String
    /// `args` keeps the image's entrypoint and runs ``args`` as its command.
    public var runtype: String
    /// The container's command (with `runtype` `args`).
    public var args: [String]
    /// With `runtype` `args`, overrides the image's entrypoint (`/bin/sh`).
    public var onstart: String?
    /// Registry credentials for a private image: `-u USER -p TOKEN REGISTRY`.
    public var imageLogin: String?
    /// Refuse the rental instead of queueing it when the machine is unavailable.
    public var cancelUnavail: Bool

    /// Creates a request.
    public init(
        image: String, env: [String: String] = [:], disk: Double, label: String, runtype: String = "args",
        args: [String] = [], onstart: String? = nil, imageLogin: String? = nil, cancelUnavail: Bool = true
    ) {
        self.image = image
        self.env = env
        self.disk = disk
        self.label = label
        self.runtype = runtype
        self.args = args
        self.onstart = onstart
        self.imageLogin = imageLogin
        self.cancelUnavail = cancelUnavail
    }

    /// The JSON body, as the official CLI builds it (`client_id: "me"`); optional members are left
    /// out rather than sent as null.
    public var json: JSONValue {
        var body: [String: JSONValue] = [
            "client_id": "me",
            "image": .string(image),
            "env": .object(env.mapValues(JSONValue.string)),
            "disk": .number(disk),
            "label": .string(label),
            "runtype": .string(runtype),
            "args": .array(args.map(JSONValue.string)),
            "cancel_unavail": .bool(cancelUnavail),
        ]
        if let onstart { body["onstart"] = .string(onstart) }
        if let imageLogin { body["image_login"] = .string(imageLogin) }
        return .object(body)
    }
}
