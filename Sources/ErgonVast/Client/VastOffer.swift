import Foundation

/// One offer from `POST /api/v0/bundles/`: a machine's GPUs for rent at a price.
public struct VastOffer: Sendable, Equatable {
    /// The offer (ask) id to pass to a create; equals `ask_contract_id`.
    public var id: Int
    /// The machine; the same machine reappears in later offers.
    public var machineID: Int
    /// The host (the owner of the machine).
    public var hostID: Int?
    /// The GPU model, such as "RTX 4090".
    public var gpuName: String
    /// How many GPUs the offer rents.
    public var numGPUs: Int
    /// Memory per GPU, in MB.
    public var gpuRAM: Double
    /// Dollars per hour, storage for the requested `allocated_storage` included.
    public var dphTotal: Double
    /// The host's reliability score, 0–1 (`reliability`, else `reliability2`).
    public var reliability: Double
    /// Download bandwidth, Mb/s.
    public var inetDown: Double?
    /// "City, CC".
    public var geolocation: String?
    /// The highest CUDA version the host's driver supports.
    public var cudaMaxGood: Double?
    /// How long the host stays available, in seconds.
    public var duration: Double?
    /// Dollars per GB per month of disk.
    public var storageCost: Double?
    /// Free disk, in GB.
    public var diskSpace: Double?
    /// The offer as the API sent it, for every other field.
    public var raw: JSONValue

    /// Creates an offer from its parts (tests, ranking).
    public init(
        id: Int, machineID: Int, hostID: Int? = nil, gpuName: String, numGPUs: Int = 1, gpuRAM: Double,
        dphTotal: Double, reliability: Double, inetDown: Double? = nil, geolocation: String? = nil,
        cudaMaxGood: Double? = nil, duration: Double? = nil, storageCost: Double? = nil, diskSpace: Double? = nil,
        raw: JSONValue = [:]
    ) {
        self.id = id
        self.machineID = machineID
        self.hostID = hostID
        self.gpuName = gpuName
        self.numGPUs = numGPUs
        self.gpuRAM = gpuRAM
        self.dphTotal = dphTotal
        self.reliability = reliability
        self.inetDown = inetDown
        self.geolocation = geolocation
        self.cudaMaxGood = cudaMaxGood
        self.duration = duration
        self.storageCost = storageCost
        self.diskSpace = diskSpace
        self.raw = raw
    }

    /// Reads an offer as the API writes it; throws `.malformed` naming the first required field
    /// (`id`, `machine_id`, `gpu_name`, `num_gpus`, `gpu_ram`, `dph_total`, `reliability`) that is missing.
    public init(json: JSONValue) throws(VastError) {
        do {
            try self.init(fields: VastFields(json))
        } catch {
            throw VastError(kind: .malformed, message: "offer without a readable \"\(error.field)\"")
        }
    }

    init(fields: VastFields) throws(VastFieldMissing) {
        guard fields.raw.objectValue != nil else { throw VastFieldMissing(field: "id") }
        guard let reliability = fields.double("reliability") ?? fields.double("reliability2") else {
            throw VastFieldMissing(field: "reliability")
        }
        self.init(
            id: try fields.requiredInt("id"),
            machineID: try fields.requiredInt("machine_id"),
            hostID: fields.int("host_id"),
            gpuName: try fields.requiredString("gpu_name"),
            numGPUs: try fields.requiredInt("num_gpus"),
            gpuRAM: try fields.requiredDouble("gpu_ram"),
            dphTotal: try fields.requiredDouble("dph_total"),
            reliability: reliability,
            inetDown: fields.double("inet_down"),
            geolocation: fields.string("geolocation"),
            cudaMaxGood: fields.double("cuda_max_good"),
            duration: fields.double("duration"),
            storageCost: fields.double("storage_cost"),
            diskSpace: fields.double("disk_space"),
            raw: fields.raw)
    }
}
