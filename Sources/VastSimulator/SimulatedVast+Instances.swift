import ErgonVast
import Foundation

extension SimulatedVast {
    /// `GET /api/v0/instances/{id}/?owner=me`: `{"instances": {…}}`, or `{"instances": null}` for
    /// an instance that is gone or never was.
    func show(id: Int, caller: Caller) -> JSONValue {
        let now = clock.now()
        guard let instance = instances[id], !instance.isDestroyed(at: now), caller.mayRead(id) else {
            return ["instances": .null]
        }
        return ["instances": .object(instance.json(at: now))]
    }

    /// `GET /api/v1/instances/`: one page of the live instances, filtered (`select_filters`),
    /// ordered (`order_by`, then id), projected (`select_cols`), with a keyset `next_token`.
    func list(parameters: [String: String]) throws(SimulatorAPIError) -> JSONValue {
        let now = clock.now()
        let filter = try FieldFilter(json: try Self.jsonParameter(parameters["select_filters"], name: "select_filters") ?? [:])
        var order = try Self.listOrder(try Self.jsonParameter(parameters["order_by"], name: "order_by"))
        if !order.contains(where: { $0.field == "id" }) { order.append((field: "id", ascending: true)) }
        let limit = min(max(1, Int(parameters["limit"] ?? "") ?? options.maximumPageSize), options.maximumPageSize)
        let live = instances.values.filter { !$0.isDestroyed(at: now) }.map { $0.json(at: now) }
        var labelCounts: [String: Int] = [:]
        for row in live { labelCounts[row["label"]?.stringValue ?? "", default: 0] += 1 }
        var rows = JSONOrdering.sorted(live.filter(filter.matches), by: order)
        let total = rows.count
        if let token = parameters["after_token"], !token.isEmpty {
            let key = try InstancePageToken(text: token, fields: order.map(\.field))
            rows = rows.filter { key.precedes($0, order: order) }
        }
        let page = Array(rows.prefix(limit))
        let nextToken: JSONValue =
            rows.count > limit && !page.isEmpty
            ? .string(InstancePageToken(row: page[page.count - 1], fields: order.map(\.field)).text) : .null
        let columns = try Self.jsonParameter(parameters["select_cols"], name: "select_cols")?.arrayValue?.compactMap(\.stringValue)
        let projected = page.map { row -> JSONValue in
            guard let columns, !columns.contains("*") else { return .object(row) }
            return .object(row.filter { columns.contains($0.key) || $0.key == "id" })
        }
        return [
            "success": true, "instances": .array(projected), "next_token": nextToken,
            "total_instances": .number(Double(total)),
            "label_counts": .object(labelCounts.mapValues { .number(Double($0)) }),
        ]
    }

    /// `GET /api/v0/instances/filters/`: the distinct status, verification and GPU combinations.
    func instanceFilters() -> JSONValue {
        let now = clock.now()
        var seen: Set<String> = []
        var combos: [JSONValue] = []
        for instance in instances.values.sorted(by: { $0.id < $1.id }) where !instance.isDestroyed(at: now) {
            let row = instance.json(at: now)
            let combo: JSONValue = [
                "actual_status": row["actual_status"] ?? .null, "verification": row["verification"] ?? .null,
                "gpu_name": row["gpu_name"] ?? .null,
            ]
            if seen.insert(combo.jsonText).inserted { combos.append(combo) }
        }
        return ["success": true, "filters": .array(combos)]
    }

    /// `PUT /api/v0/instances/{id}/`: `{"label": …}` and/or `{"state": "stopped"|"running"}`.
    func update(id: Int, body: JSONValue, caller: Caller) throws(SimulatorAPIError) -> JSONValue {
        let now = clock.now()
        guard var instance = instances[id], !instance.isDestroyed(at: now), caller.mayRead(id) else {
            throw .instanceNotFound(id)
        }
        guard case .object(let members) = body else { throw .invalidArguments("the body must be a JSON object") }
        if let label = members["label"] {
            guard caller == .account else { throw .badKey }
            switch label {
            case .null: instance.label = nil
            case .string(let text) where text.count <= 1024: instance.label = text
            default: throw .invalidArguments("label: must be a string of at most 1024 characters")
            }
        }
        if let state = members["state"] {
            switch state.stringValue {
            case "stopped": stop(&instance, at: now)
            case "running": try start(&instance, at: now)
            default: throw .invalidArguments("state: must be \"stopped\" or \"running\"")
            }
        }
        instances[id] = instance
        return ["success": true]
    }

    private func stop(_ instance: inout SimulatedInstance, at now: Date) {
        let last = instance.runs.count - 1
        if let stoppedAt = instance.runs[last].stoppedAt, stoppedAt <= now { return }
        switch instance.status(at: now).actual {
        case "loading", "created", "running", nil:
            instance.runs[last].stoppedAt = now
            if instance.container != nil { stopContainer(of: instance) }
        default:
            // Already exited, offline or stopped: nothing runs to stop.
            break
        }
    }

    private func start(_ instance: inout SimulatedInstance, at now: Date) throws(SimulatorAPIError) {
        let status = instance.status(at: now)
        switch status.actual {
        case "offline", "unknown":
            throw SimulatorAPIError(
                status: 400, code: "host_unavailable", message: "error 400: the host of instance \(instance.id) is offline")
        case "stopped", "exited":
            instance.runs.append(SimulatedInstance.Run(start: now))
            if instance.container != nil {
                instance.container!.generation += 1
                instance.container!.stage = .launching
                instance.container!.runningSince = nil
                launchContainer(for: instance)
            }
        default:
            // Loading or running already.
            break
        }
    }

    /// `DELETE /api/v0/instances/{id}/`: the instance is gone at once; its offer is free again.
    func destroy(id: Int) throws(SimulatorAPIError) -> JSONValue {
        let now = clock.now()
        guard var instance = instances[id], !instance.isDestroyed(at: now) else { throw .instanceNotFound(id) }
        instance.destroyedAt = now
        instances[id] = instance
        release(instance)
        if instance.container != nil { removeContainers(of: id) }
        return ["success": true]
    }

    /// Every instance, destroyed ones included, as JSON with the simulator's own bookkeeping
    /// (`destroyed`, `destroyed_at`, `exit_code`, `fault`): `GET /__sim/instances`.
    public func allInstances() -> [JSONValue] {
        let now = clock.now()
        return instances.values.sorted { $0.id < $1.id }.map { instance in
            var row = instance.json(at: now)
            row["destroyed"] = .bool(instance.isDestroyed(at: now))
            row["destroyed_at"] = instance.destroyedAt.map { .number($0.timeIntervalSince1970) } ?? .null
            row["exit_code"] = .number(Double(instance.program.exitCode))
            row["billed_seconds"] = .number(SimulatedOffer.rounded(instance.billedSeconds(at: now)))
            row["fault"] = instance.fault.map { .string("\($0)") } ?? .null
            return .object(row)
        }
    }

    /// The instance `id` as the API shows it now (nil once destroyed or unknown).
    public func instanceJSON(id: Int) -> JSONValue? {
        let now = clock.now()
        guard let instance = instances[id], !instance.isDestroyed(at: now) else { return nil }
        return .object(instance.json(at: now))
    }

    /// A query parameter holding JSON (`select_filters`, `order_by`, `select_cols`).
    static func jsonParameter(_ text: String?, name: String) throws(SimulatorAPIError) -> JSONValue? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try JSONValue.decode(Data(text.utf8))
        } catch {
            throw .invalidArguments("\(name): not valid JSON")
        }
    }

    /// Reads `order_by`: `[{"col": …, "dir": "asc"|"desc"}, …]` or `[[col, dir], …]`.
    static func listOrder(_ value: JSONValue?) throws(SimulatorAPIError) -> [(field: String, ascending: Bool)] {
        guard let items = value?.arrayValue else { return [] }
        var keys: [(field: String, ascending: Bool)] = []
        for item in items {
            let field = item["col"]?.stringValue ?? item.arrayValue?.first?.stringValue
            let direction = (item["dir"]?.stringValue ?? item.arrayValue?.dropFirst().first?.stringValue ?? "asc").lowercased()
            guard let field, direction == "asc" || direction == "desc" else {
                throw .invalidArguments("order_by: \(item.jsonText) is not {\"col\": NAME, \"dir\": asc|desc}")
            }
            keys.append((field: field, ascending: direction == "asc"))
        }
        return keys
    }
}

extension SimulatedVast.Caller {
    /// True when this caller may see instance `id`.
    func mayRead(_ id: Int) -> Bool {
        switch self {
        case .account: return true
        case .instance(let own): return own == id
        }
    }
}
