import ErgonCore
import ErgonVast
import Foundation

extension SimulatedVast {
    /// Keys of a search body that are not filters.
    static let searchRequestKeys: Set<String> = ["order", "type", "limit", "allocated_storage", "disable_bundling"]

    /// True when the offer is rented (by this account, by someone else, or taken by a fault).
    func isRented(_ offer: SimulatedOffer) -> Bool {
        offer.rentedByOthers || rentedOffers[offer.id] != nil || takenOffers.contains(offer.id)
    }

    /// True when the offer could be created now.
    func isAvailable(_ offer: SimulatedOffer) -> Bool {
        !isRented(offer) && offer.numGPUs <= freeGPUs[offer.machineID, default: 0]
            && offer.fields["rentable"]?.boolValue != false
    }

    /// `POST /api/v0/bundles/`: the offers passing the body's filter, ordered and limited.
    ///
    /// `allocated_storage` is priced into `dph_total` and acts as `disk_space >=`. Rented offers
    /// are listed only when the query says something about `rented`; offers of a machine whose
    /// free GPUs no longer cover them are not listed at all.
    func search(body: JSONValue) throws(SimulatorAPIError) -> JSONValue {
        guard case .object(var members) = body else { throw .invalidArguments("the search body must be a JSON object") }
        // `PUT /api/v0/search/asks/` wraps the same query in `q`.
        if case .object(let inner)? = members["q"] { members = inner }
        let order = try Self.order(members["order"])
        let limit = try Self.positiveInteger(members["limit"], name: "limit") ?? options.defaultSearchLimit
        let type: OfferType
        switch members["type"] ?? .string("on-demand") {
        case .string(let word):
            guard let known = OfferType(requestValue: word) else {
                throw .invalidArguments("type: \"\(word)\" is not one of on-demand, bid, reserved")
            }
            type = known
        default: throw .invalidArguments("type: must be a string")
        }
        let storage = try Self.number(members["allocated_storage"], name: "allocated_storage") ?? options.defaultAllocatedStorage
        let filter: OfferFilter
        do {
            filter = try OfferFilter(json: .object(members.filter { $0.key != "q" }))
        } catch {
            throw .invalidArguments(error.description)
        }
        let compiled = filter.compiled
        let mentionsRented = members["rented"] != nil
        let now = clock.now()
        var rows: [[String: JSONValue]] = []
        for offer in market.offers {
            let rented = isRented(offer)
            if rented, !mentionsRented { continue }
            if !rented, offer.numGPUs > freeGPUs[offer.machineID, default: 0] { continue }
            if offer.diskSpace < storage { continue }
            guard case .object(let row) = offer.json(
                allocatedStorage: storage, now: now, marketStart: marketStart, type: type, rented: rented)
            else { continue }
            if compiled.matches(row) { rows.append(row) }
        }
        let sorted = JSONOrdering.sorted(rows, by: order)
        return ["offers": .array(sorted.prefix(limit).map { JSONValue.object($0) })]
    }

    /// Reads `order`: `[[field, "asc"|"desc"], …]` (a bare field sorts ascending).
    static func order(_ value: JSONValue?) throws(SimulatorAPIError) -> [(field: String, ascending: Bool)] {
        guard let value, value != .null else { return [(field: "score", ascending: false)] }
        guard let items = value.arrayValue else { throw .invalidArguments("order: must be a list of [field, direction]") }
        var keys: [(field: String, ascending: Bool)] = []
        for item in items {
            let parts = item.arrayValue ?? [item]
            guard let field = parts.first?.stringValue else { throw .invalidArguments("order: \(item.jsonText) has no field name") }
            let direction = parts.count > 1 ? (parts[1].stringValue ?? "asc").lowercased() : "asc"
            guard direction == "asc" || direction == "desc" else {
                throw .invalidArguments("order: direction \"\(direction)\" of \(field) is not asc or desc")
            }
            keys.append((field: OfferFields.resolve(field), ascending: direction == "asc"))
        }
        return keys
    }

    /// A number sent as a number or a numeric string; nil when absent.
    static func number(_ value: JSONValue?, name: String) throws(SimulatorAPIError) -> Double? {
        switch value ?? .null {
        case .null: return nil
        case .number(let number) where number.isFinite: return number
        case .string(let text):
            guard let number = Double(text), number.isFinite else { throw .invalidArguments("\(name): \"\(text)\" is not a number") }
            return number
        default: throw .invalidArguments("\(name): must be a number")
        }
    }

    static func positiveInteger(_ value: JSONValue?, name: String) throws(SimulatorAPIError) -> Int? {
        guard let number = try number(value, name: name) else { return nil }
        guard number >= 1, number < 1_000_000 else { throw .invalidArguments("\(name): must be at least 1") }
        return Int(number)
    }

    // MARK: - Create

    /// `PUT /api/v0/asks/{id}/`: rents the offer and starts an instance on it.
    func create(offerID: Int, body: JSONValue, fault: FaultRule?) throws(SimulatorAPIError) -> JSONValue {
        guard let offer = market.offer(id: offerID), isAvailable(offer) else { throw .noSuchAsk(offerID) }
        let request = try CreateRequest(
            json: body, envLimits: .init(perEntry: options.envEntryLimit, total: options.envTotalLimit))
        guard request.disk <= offer.diskSpace else {
            throw .invalidArguments("disk: \(request.disk) GB asked but offer \(offerID) has \(offer.diskSpace) GB")
        }
        if let fault, fault.kind == .offerTaken {
            // Someone else was faster: the offer is gone for good.
            takenOffers.insert(offerID)
            throw .noSuchAsk(offerID, status: fault.status ?? 404)
        }
        let now = clock.now()
        let id = nextInstanceID
        nextInstanceID += 1
        var program = options.program(image: request.image, env: request.environment)
        let wrapperLabel = request.runsShellScript ? request.label.flatMap(InstanceLabel.init(vastLabel:)) : nil
        var marker = wrapperLabel.map { ExitMarker.prefix(label: $0) }
        var preamble: [String] = []
        let dockerMode = docker != nil || options.dockerSocket != nil
        if let wrapperLabel, request.runsAcceptanceCheck {
            if fault?.kind == .gpuCheckFailure, !dockerMode {
                // The check fails at once: its failure line, then the wrapper ends without
                // running the command (so without an exit marker).
                program = SimulatedProgram(
                    loadSeconds: program.loadSeconds, runSeconds: 1,
                    output: [Self.gpuCheckMessage, AcceptanceMarker.failedPrefix(label: wrapperLabel) + String(fault?.status ?? 1)],
                    exitCode: 97)
                marker = nil
            } else {
                preamble = [AcceptanceMarker.passedLine(label: wrapperLabel)]
            }
        }
        var run = SimulatedInstance.Run(start: now)
        var lifecycle: SimulatedInstance.LifecycleFault?
        if let faulty = options.faultyMarket, !dockerMode {
            // The host behaves as its offer says: the image downloads over its link, and an
            // unreliable host may interrupt the run.
            program.loadSeconds = faulty.loadSeconds(program: program, offer: offer, env: request.environment)
            if let after = faulty.interruption(instanceID: id, offer: offer, runSeconds: program.runSeconds, seed: options.seed) {
                run.stoppedAt = now.addingTimeInterval(program.loadSeconds + after)
            }
        }
        if let fault {
            let strikeAfter = fault.afterSeconds ?? program.runSeconds / 2
            switch fault.kind {
            case .stuckLoading: lifecycle = .stuckLoading
            case .ociFailure: lifecycle = .ociFailure(message: fault.message ?? Self.ociMessage)
            // A real container is not taken offline or interrupted: those two are synthetic only.
            case .hostOffline where !dockerMode: lifecycle = .hostOffline(after: strikeAfter)
            case .interrupted where !dockerMode: run.stoppedAt = now.addingTimeInterval(program.loadSeconds + strikeAfter)
            default: break
            }
        }
        let storageHour = offer.storageCost * request.disk / 720
        var instance = SimulatedInstance(
            id: id, offer: offer, createdAt: now, apiKey: Self.newKey(), label: request.label, request: request,
            program: program, preamble: preamble, exitMarkerPrefix: marker, fault: lifecycle, runs: [run], destroyedAt: nil,
            dphTotal: SimulatedOffer.rounded((request.price ?? offer.dphBase) + storageHour), container: nil)
        if dockerMode {
            var container = InstanceContainer()
            switch lifecycle {
            case .ociFailure(let message)?: container.stage = .startFailed(message: message)
            default: break
            }
            instance.container = container
        }
        instances[id] = instance
        rentedOffers[offerID] = id
        freeGPUs[offer.machineID, default: 0] -= offer.numGPUs
        createdCount += 1
        createsPerLabel[request.label ?? "", default: 0] += 1
        if instance.container?.stage == .launching, lifecycle != .stuckLoading {
            launchContainer(for: instance)
        }
        if let fault, fault.kind == .errorWithContract {
            throw SimulatorAPIError(
                status: fault.status ?? 500, code: "server_error",
                message: fault.message ?? "error 500: internal error while scheduling the instance",
                extra: ["new_contract": .number(Double(id))])
        }
        return ["success": true, "new_contract": .number(Double(id)), "instance_api_key": .string(instance.apiKey)]
    }

    /// What a GPU that fails the acceptance check prints.
    static let gpuCheckMessage =
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."

    /// The status message of a container the host could not start.
    static let ociMessage =
        "OCI runtime create failed: container_linux.go:380: starting container process caused: process_linux.go:545: "
        + "container init caused: Running hook #0:: error running hook: exit status 1, stdout: , stderr: "
        + "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.4, please update your driver to a "
        + "newer version, or use an earlier cuda container: unknown"

    /// A fresh 64-hex-digit key, like Vast's.
    static func newKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Releases the offer of a destroyed instance: the machine's GPUs are free again.
    func release(_ instance: SimulatedInstance) {
        guard rentedOffers[instance.offer.id] == instance.id else { return }
        rentedOffers[instance.offer.id] = nil
        freeGPUs[instance.offer.machineID, default: 0] += instance.offer.numGPUs
    }
}
