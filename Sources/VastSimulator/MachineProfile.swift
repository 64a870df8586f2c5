import ErgonVast
import Foundation

/// One machine of the simulated market: its hardware and terms, from which its offers are cut.
struct MachineProfile: Sendable {
    var id: Int
    var host: HostProfile
    var model: GPUModel
    var gpus: Int
    var driver: DriverRelease
    var pricePerGPU: Double
    var storageCost: Double
    var disk: Double
    var cpuCores: Int
    var cpuRAM: Double
    var cpuGHz: Double
    var cpuName: String
    var moboName: String
    var reliability: Double
    var verification: String
    var datacenter: Bool
    var external: Bool
    var rentable: Bool
    var inetUp: Double
    var inetDown: Double
    var availableFor: Double
    var pciGen: Int
    var ubuntu: String
    var ipAddress: String

    /// GPU counts offered from this machine: one GPU, then each power of two up to all of them.
    var offerSizes: [Int] {
        var sizes = [1]
        var size = 2
        while size <= gpus {
            sizes.append(size)
            size *= 2
        }
        if sizes.last != gpus { sizes.append(gpus) }
        return sizes
    }

    static func random(id: Int, host: HostProfile, using random: inout SeededGenerator) -> MachineProfile {
        let model = random.weighted(GPUModel.catalogue.map { ($0, $0.weight) })
        let gpus: Int =
            model.isDatacenter
            ? random.weighted([(1, 10.0), (2, 15), (4, 30), (8, 45)])
            : random.weighted([(1, 40.0), (2, 25), (4, 20), (8, 15)])
        let drivers = DriverRelease.releases.filter { $0.major >= model.minimumDriverMajor }
        let driver = drivers[Int.random(in: 0..<drivers.count, using: &random)]
        // Cheap hosts cluster at the bottom of the band; quality pushes the price up a little.
        let band = model.price
        let position = min(1, Double.random(in: 0...1, using: &random) * 0.8 + host.quality * 0.2)
        let pricePerGPU = band.lowerBound + (band.upperBound - band.lowerBound) * position
        let datacenter = model.isDatacenter ? random.chance(0.7) : random.chance(0.08)
        // Well-run hosts land between 0.9 and 0.999; the others fall with their quality.
        let base = host.quality >= 0.85 ? 0.905 + (host.quality - 0.85) / 0.15 * 0.094 : host.quality
        let reliability = min(0.9995, max(0.2, base * Double.random(in: 0.995...1.0, using: &random)))
        let verification = random.weighted([("verified", 85.0), ("unverified", 10), ("deverified", 5)])
        let cpus = [("AMD EPYC 7543 32-Core Processor", 64), ("AMD EPYC 7B13 64-Core Processor", 128),
                    ("AMD Ryzen 9 5950X 16-Core Processor", 32), ("AMD Ryzen 9 7950X 16-Core Processor", 32),
                    ("Intel Xeon Gold 6338 CPU @ 2.00GHz", 64), ("Intel Core i9-13900K", 32),
                    ("AMD EPYC 9654 96-Core Processor", 192), ("Intel Xeon E5-2680 v4 @ 2.40GHz", 56)]
        let cpu = cpus[Int.random(in: 0..<cpus.count, using: &random)]
        let boards = ["ROMED8-2T", "H12SSL-i", "X570 AORUS ELITE", "PRO WS WRX80E-SAGE SE WIFI", "B550M DS3H",
                      "Z790 AORUS ELITE AX", "MZ32-AR0-00", "X11DPG-OT-CPU"]
        let inetDown = random.logUniform(40...10_000) * (0.5 + host.quality / 2)
        let inetUp = inetDown * Double.random(in: 0.3...1.1, using: &random)
        let availableDays = random.weighted([(Double.random(in: 0.2...3, using: &random), 15.0),
                                             (Double.random(in: 3...60, using: &random), 55),
                                             (Double.random(in: 60...365, using: &random), 30)])
        return MachineProfile(
            id: id, host: host, model: model, gpus: gpus, driver: driver, pricePerGPU: pricePerGPU,
            storageCost: [0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3][Int.random(in: 0..<8, using: &random)],
            disk: Double(gpus) * Double.random(in: 60...500, using: &random).rounded(),
            cpuCores: cpu.1, cpuRAM: Double(gpus) * Double(random.weighted([(32, 20.0), (64, 40), (128, 30), (256, 10)])) * 1024,
            cpuGHz: Double.random(in: 2.0...5.5, using: &random), cpuName: cpu.0,
            moboName: boards[Int.random(in: 0..<boards.count, using: &random)], reliability: reliability,
            verification: verification, datacenter: datacenter, external: random.chance(0.1),
            rentable: random.chance(0.97), inetUp: inetUp.rounded(), inetDown: inetDown.rounded(),
            availableFor: availableDays * 86_400, pciGen: random.weighted([(3, 30.0), (4, 60), (5, 10)]),
            ubuntu: random.weighted([("20.04", 20.0), ("22.04", 65), ("24.04", 15)]),
            ipAddress: "203.0.113.\(Int.random(in: 1...254, using: &random))")
    }

    /// The offer of `count` of this machine's GPUs: resources and price are the machine's, scaled.
    func offer(id: Int, gpus count: Int, using random: inout SeededGenerator) -> SimulatedOffer {
        let fraction = Double(count) / Double(gpus)
        let dphBase = SimulatedOffer.rounded(pricePerGPU * Double(count) * Double.random(in: 0.97...1.03, using: &random))
        let minBid = SimulatedOffer.rounded(dphBase * Double.random(in: 0.3...0.6, using: &random))
        let dlperf = model.dlperf * Double(count) * Double.random(in: 0.85...1.02, using: &random) * (pciGen >= 4 ? 1 : 0.93)
        let flops = model.tflops * Double(count)
        let rentedByOthers = random.chance(0.05)
        let cores = Double(cpuCores) * fraction
        let fields: [String: JSONValue] = [
            "id": .number(Double(id)),
            "ask_contract_id": .number(Double(id)),
            "bundle_id": .number(Double(id)),
            "bundled_results": .number(1),
            "machine_id": .number(Double(self.id)),
            "host_id": .number(Double(host.id)),
            "hostname": .string("host-\(host.id)"),
            "gpu_name": .string(model.name),
            "gpu_arch": "nvidia",
            "num_gpus": .number(Double(count)),
            "gpu_ram": .number(Double(model.ramMB)),
            "gpu_total_ram": .number(Double(model.ramMB * count)),
            "gpu_frac": .number(SimulatedOffer.rounded(fraction)),
            "gpu_ids": .array((0..<count).map { .number(Double($0)) }),
            "gpu_lanes": .number(16),
            "gpu_mem_bw": .number(model.memoryBandwidth),
            "gpu_max_power": .number(model.maxPower),
            "gpu_max_temp": .number(83),
            "gpu_display_active": .bool(!datacenter && random.chance(0.1)),
            "bw_nvlink": .number(count > 1 ? model.nvlink : 0),
            "compute_cap": .number(Double(model.computeCap)),
            "cuda_max_good": .number(driver.cuda),
            "driver_version": .string(driver.version),
            "driver_vers": .number(Double(Self.numericVersion(driver.version))),
            "cpu_arch": .string(random.chance(0.03) ? "arm64" : "amd64"),
            "cpu_name": .string(cpuName),
            "cpu_cores": .number(Double(cpuCores)),
            "cpu_cores_effective": .number(SimulatedOffer.rounded(cores)),
            "cpu_ghz": .number(SimulatedOffer.rounded(cpuGHz)),
            "cpu_ram": .number((cpuRAM * fraction).rounded()),
            "has_avx": .bool(true),
            "mobo_name": .string(moboName),
            "pci_gen": .number(Double(pciGen)),
            "pcie_bw": .number(SimulatedOffer.rounded(Double(pciGen == 3 ? 12 : pciGen == 4 ? 24 : 48) * Double.random(in: 0.6...1, using: &random))),
            "disk_space": .number((disk * fraction).rounded()),
            "disk_bw": .number(Double.random(in: 400...6500, using: &random).rounded()),
            "disk_name": .string(random.chance(0.8) ? "nvme" : "ssd"),
            "dph_base": .number(dphBase),
            "storage_cost": .number(storageCost),
            "inet_up": .number(inetUp),
            "inet_down": .number(inetDown),
            "inet_up_cost": .number(SimulatedOffer.rounded(Double.random(in: 0...0.02, using: &random))),
            "inet_down_cost": .number(SimulatedOffer.rounded(Double.random(in: 0...0.02, using: &random))),
            "min_bid": .number(minBid),
            "discount_rate": .number(SimulatedOffer.rounded(Double.random(in: 0.1...0.4, using: &random))),
            "credit_discount_max": .number(0.4),
            "dlperf": .number(SimulatedOffer.rounded(dlperf)),
            "total_flops": .number(SimulatedOffer.rounded(flops)),
            "reliability": .number(SimulatedOffer.rounded(reliability)),
            "reliability2": .number(SimulatedOffer.rounded(reliability)),
            "score": .number(SimulatedOffer.rounded(dlperf / max(dphBase, 0.01) * reliability * reliability)),
            "verification": .string(verification),
            "verified": .bool(verification == "verified"),
            "datacenter": .bool(datacenter),
            "hosting_type": .number(datacenter ? 1 : 0),
            "external": .bool(external),
            "rentable": .bool(rentable),
            "static_ip": .bool(datacenter || random.chance(0.3)),
            "vms_enabled": .bool(random.chance(0.1)),
            "direct_port_count": .number(Double(random.weighted([(0, 15.0), (Int.random(in: 2...50, using: &random), 45), (Int.random(in: 50...2000, using: &random), 40)]))),
            "geolocation": .string("\(host.city), \(host.country)"),
            "geolocode": .number(Double(abs(host.country.hashValueStable) % 100_000)),
            "public_ipaddr": .string(ipAddress),
            "ubuntu_version": .string(ubuntu),
            "os_version": .string(ubuntu),
            "cluster_id": datacenter && random.chance(0.3) ? .number(Double(100 + host.id % 50)) : .null,
            "start_date": .null,
            "webpage": .null,
            "logo": "/static/logos/nvidia.png",
        ]
        return SimulatedOffer(
            id: id, machineID: self.id, hostID: host.id, gpuName: model.name, numGPUs: count, machineGPUs: gpus,
            dphBase: dphBase, storageCost: storageCost, diskSpace: (disk * fraction).rounded(), minBid: minBid,
            availableFor: availableFor, rentedByOthers: rentedByOthers, fields: fields)
    }

    /// `535.86.05` → 535086005, as the CLI encodes driver versions in filters.
    static func numericVersion(_ version: String) -> Int {
        version.split(separator: ".").reduce(0) { $0 * 1000 + (Int($1) ?? 0) }
    }
}
