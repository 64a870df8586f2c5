import ErgonVast
import Foundation
import Hummingbird

extension SimulatorRouter {
    /// The simulator's own endpoints under `/__sim/` (no auth; the simulator listens on loopback):
    ///
    /// | request | answer |
    /// |---|---|
    /// | `GET /__sim/logs/TOKEN` | a log `result_url`: 404 a few times, then the text (counted as `log_result`, faultable) |
    /// | `GET /__sim/stats` | ``SimulatorStats`` |
    /// | `GET /__sim/health` | `{"ok": true, "port": N}` |
    /// | `GET /__sim/instances` | every instance, destroyed ones too, with `destroyed`, `exit_code`, `billed_seconds`, `fault` |
    /// | `GET /__sim/history` | `started_at` (epoch), `now`, and every instance's ``InstanceHistoryEntry`` (create label, times, state, billing) |
    /// | `GET /__sim/instances/ID/output` | the whole output of an instance so far, as text |
    /// | `POST /__sim/advance?seconds=N` | moves the clock forward; answers the new time |
    /// | `GET /__sim/faults` | the fault plan in force, as a fault document |
    /// | `PUT /__sim/faults` | replaces the fault plan (body: a fault document, see ``FaultPlan``) |
    /// | `GET /__sim/offers/ID` | one offer with its availability (`available`, `rented`) |
    func hook(request: Request, segments: [String], query: [String: String], body: JSONValue) async -> Response {
        switch (request.method, segments) {
        case (.get, let path) where path.count == 2 && path[0] == "logs":
            await vast.record(.logResult)
            if let fault = await vast.fault(for: .logResult), let answer = await Self.answer(for: fault) { return answer }
            guard let text = await vast.logResult(token: path[1]) else {
                return Self.text("Not Found\n", status: 404)
            }
            return Self.text(text)
        case (.get, ["stats"]):
            return Self.json(await vast.stats().json)
        case (.get, ["health"]):
            return Self.json(["ok": true, "port": .number(Double((try? await port.value()) ?? 0))])
        case (.get, ["instances"]):
            return Self.json(["instances": .array(await vast.allInstances())])
        case (.get, ["history"]):
            return Self.json(await vast.historyJSON())
        case (.get, let path) where path.count == 3 && path[0] == "instances" && path[2] == "output":
            guard let id = Int(path[1]) else { return Self.text("bad id\n", status: 400) }
            let lines = await vast.output(of: id)
            return Self.text(lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n")
        case (.post, ["advance"]):
            let seconds = query["seconds"].flatMap(Double.init) ?? body["seconds"]?.doubleValue ?? 0
            vast.clock.advance(by: seconds)
            return Self.json(["now": .number(vast.clock.now().timeIntervalSince1970)])
        case (.get, ["faults"]):
            return Self.json(await vast.faultPlan.json)
        case (.put, ["faults"]), (.post, ["faults"]):
            do {
                await vast.setFaults(try FaultPlan(json: body, source: "body"))
                return Self.json(["success": true])
            } catch {
                return Self.json(["success": false, "error": "invalid_args", "msg": .string(error.description)], status: 400)
            }
        case (.get, let path) where path.count == 2 && path[0] == "offers":
            guard let id = Int(path[1]), let offer = await vast.offerJSON(id: id) else {
                return Self.json(["success": false, "error": "not_found"], status: 404)
            }
            return Self.json(offer)
        default:
            return Self.json(["success": false, "error": "not_found", "msg": "no such simulator hook"], status: 404)
        }
    }
}

extension SimulatedVast {
    /// One offer as search would show it (5 GB of storage), with `available`.
    public func offerJSON(id: Int) -> JSONValue? {
        guard let offer = market.offer(id: id),
            case .object(var row) = offer.json(
                allocatedStorage: options.defaultAllocatedStorage, now: clock.now(), marketStart: marketStart,
                rented: isRented(offer))
        else { return nil }
        row["available"] = .bool(isAvailable(offer))
        return .object(row)
    }
}
