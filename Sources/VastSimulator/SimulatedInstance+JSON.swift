import ErgonVast
import Foundation

extension SimulatedInstance {
    /// The instance as `GET /api/v1/instances/` and `GET /api/v0/instances/{id}/` describe it:
    /// every key the official CLI reads (`start_date` and `extra_env` are required by it).
    func json(at now: Date) -> [String: JSONValue] {
        let status = status(at: now)
        let fields = offer.fields
        let storageHour = offer.storageCost * request.disk / 720
        let uptime = status.isRunning ? runningSince(at: now).map { now.timeIntervalSince($0) / 60 } : nil
        var members: [String: JSONValue] = [
            "id": .number(Double(id)),
            "machine_id": .number(Double(offer.machineID)),
            "host_id": .number(Double(offer.hostID)),
            "bundle_id": .number(Double(offer.id)),
            "label": label.map(JSONValue.string) ?? .null,
            "actual_status": status.actual.map(JSONValue.string) ?? .null,
            "intended_status": .string(status.intended),
            "cur_state": .string(status.current),
            "next_state": .string(status.next),
            "status_msg": .string(status.message),
            "image_uuid": .string(request.image),
            "image_args": .array((request.args ?? []).map(JSONValue.string)),
            "args": request.args.map { .array($0.map(JSONValue.string)) } ?? .null,
            "image_runtype": .string(request.runtype ?? (request.args == nil ? "ssh" : "args")),
            "onstart": request.onstart.map(JSONValue.string) ?? .null,
            "extra_env": .array(request.env.map { .array([.string($0.0), .string($0.1)]) }),
            "start_date": .number(createdAt.timeIntervalSince1970),
            "end_date": .number(createdAt.timeIntervalSince1970 + offer.availableFor),
            "dph_total": .number(dphTotal),
            "dph_base": .number(request.price ?? offer.dphBase),
            "storage_cost": .number(offer.storageCost),
            "storage_total_cost": .number(SimulatedOffer.rounded(storageHour)),
            "is_bid": .bool(request.price != nil),
            "min_bid": fields["min_bid"] ?? .null,
            "disk_space": .number(request.disk),
            "disk_usage": .number(status.isRunning ? min(request.disk, 1.5) : 0),
            "disk_util": .number(status.isRunning ? SimulatedOffer.rounded(min(request.disk, 1.5) / request.disk) : 0),
            "gpu_util": status.isRunning ? .number(Double(37 + id % 50)) : .null,
            "gpu_temp": status.isRunning ? .number(Double(55 + id % 20)) : .null,
            "cpu_util": status.isRunning ? .number(Double(5 + id % 30)) : .null,
            "mem_usage": status.isRunning ? .number(0.8) : .null,
            "mem_limit": fields["cpu_ram"].map { .number(($0.doubleValue ?? 0) / 1000) } ?? .null,
            "vmem_usage": status.isRunning ? .number(1.2) : .null,
            "gpu_totalram": fields["gpu_total_ram"] ?? .null,
            "uptime_mins": uptime.map { .number(SimulatedOffer.rounded($0)) } ?? .null,
            "inet_up_billed": .number(0),
            "inet_down_billed": .number(0),
            "ssh_host": .string("ssh\(1 + id % 9).vast.ai"),
            "ssh_port": .number(Double(10_000 + id % 50_000)),
            "ssh_idx": .string("\(1 + id % 9)"),
            "machine_dir_ssh_port": .number(Double(40_000 + offer.machineID % 20_000)),
            "direct_port_start": .number(-1),
            "direct_port_end": .number(-1),
            "ports": .object([:]),
            "local_ipaddrs": .string("127.0.0.1\n"),
            "jupyter_token": .string(String(apiKey.prefix(16))),
            "template_id": .null,
            "template_hash_id": .null,
            "template_name": .null,
            "client_run_time": .number(1.1),
            "host_run_time": .number(SimulatedOffer.rounded(now.timeIntervalSince(createdAt))),
            "time_remaining": .string(SimulatedOffer.remainingText(max(0, offer.availableFor - now.timeIntervalSince(createdAt)))),
            "time_remaining_isbid": .string(""),
            "credit_balance": .null,
            "credit_discount": .null,
        ]
        for key in Self.offerKeys {
            if let value = fields[key] { members[key] = value }
        }
        return members
    }

    /// Keys an instance repeats from its offer.
    static let offerKeys = [
        "gpu_name", "num_gpus", "gpu_ram", "gpu_arch", "gpu_frac", "gpu_lanes", "gpu_mem_bw", "gpu_display_active",
        "bw_nvlink", "compute_cap", "cuda_max_good", "driver_version", "cpu_arch", "cpu_name", "cpu_cores",
        "cpu_cores_effective", "cpu_ram", "has_avx", "mobo_name", "pci_gen", "pcie_bw", "disk_bw", "disk_name",
        "inet_up", "inet_down", "inet_up_cost", "inet_down_cost", "dlperf", "total_flops", "reliability2",
        "verification", "geolocation", "geolocode", "public_ipaddr", "hosting_type", "external", "static_ip",
        "os_version", "ubuntu_version", "webpage", "logo", "credit_discount_max", "score", "vms_enabled",
    ]

    /// When the current command started running, if it did.
    func runningSince(at now: Date) -> Date? {
        if let container { return container.runningSince }
        guard let run = runs.last else { return nil }
        return run.start.addingTimeInterval(program.loadSeconds)
    }
}
