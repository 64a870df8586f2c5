import Foundation

/// One rented instance, as `GET /api/v1/instances/` and `GET /api/v0/instances/{id}/` describe it.
///
/// Only `id` is required; Vast leaves the rest null while an instance is provisioning.
public struct VastInstance: Sendable, Equatable {
    /// The instance (contract) id.
    public var id: Int
    /// The machine it runs on.
    public var machineID: Int?
    /// The label set at create or with ``VastClient/setLabel(id:label:)``.
    public var label: String?
    /// What the container is doing: `created`, `loading`, `running`, `exited`, `stopped`, `offline`, …
    public var actualStatus: String?
    /// What it was asked to do (`running`, `stopped`).
    public var intendedStatus: String?
    /// The contract's current state.
    public var curState: String?
    /// The state the contract is moving to.
    public var nextState: String?
    /// Free text from the host, such as a container error.
    public var statusMsg: String?
    /// The image it runs.
    public var imageUUID: String?
    /// When it was created.
    public var startDate: Date?
    /// Dollars per hour.
    public var dphTotal: Double?
    /// The GPU model.
    public var gpuName: String?

    /// Creates an instance description from its parts (tests).
    public init(
        id: Int, machineID: Int? = nil, label: String? = nil, actualStatus: String? = nil,
        intendedStatus: String? = nil, curState: String? = nil, nextState: String? = nil, statusMsg: String? = nil,
        imageUUID: String? = nil, startDate: Date? = nil, dphTotal: Double? = nil, gpuName: String? = nil
    ) {
        self.id = id
        self.machineID = machineID
        self.label = label
        self.actualStatus = actualStatus
        self.intendedStatus = intendedStatus
        self.curState = curState
        self.nextState = nextState
        self.statusMsg = statusMsg
        self.imageUUID = imageUUID
        self.startDate = startDate
        self.dphTotal = dphTotal
        self.gpuName = gpuName
    }

    /// Reads an instance as the API writes it; throws `.malformed` when it has no readable `id`.
    public init(json: JSONValue) throws(VastError) {
        do {
            try self.init(fields: VastFields(json))
        } catch {
            throw VastError(kind: .malformed, message: "instance without a readable \"\(error.field)\"")
        }
    }

    init(fields: VastFields) throws(VastFieldMissing) {
        guard fields.raw.objectValue != nil else { throw VastFieldMissing(field: "id") }
        self.init(
            id: try fields.requiredInt("id"),
            machineID: fields.int("machine_id"),
            label: fields.string("label"),
            actualStatus: fields.string("actual_status"),
            intendedStatus: fields.string("intended_status"),
            curState: fields.string("cur_state"),
            nextState: fields.string("next_state"),
            statusMsg: fields.string("status_msg"),
            imageUUID: fields.string("image_uuid"),
            startDate: fields.date("start_date"),
            dphTotal: fields.double("dph_total"),
            gpuName: fields.string("gpu_name"))
    }

    /// The members of an instance the agent reads: a listing keeps only these
    /// (``VastCall/pruning``), since a thousand instances of some eighty members each, parsed
    /// into dictionaries every tick, cost more CPU and memory than the rest of the tick.
    static let readFields: Set<String> = [
        "id", "machine_id", "label", "actual_status", "intended_status", "cur_state", "next_state", "status_msg",
        "image_uuid", "start_date", "dph_total", "gpu_name",
    ]
}
