import ErgonVast
import Foundation

extension SimulatedVast {
    /// The most log texts kept for their `result_url`s; older ones answer 404 for good.
    static let keptLogResults = 500

    /// `PUT /api/v0/instances/request_logs/{id}/` with `{"tail": "N"}` (optional `filter`,
    /// `daemon_logs`): takes the last `tail` lines of the output now and answers the URL where
    /// they will be, after a few 404s.
    func requestLogs(id: Int, body: JSONValue, caller: Caller, baseURL: String) async throws(SimulatorAPIError) -> JSONValue {
        let now = clock.now()
        guard let instance = instances[id], !instance.isDestroyed(at: now), caller.mayRead(id) else {
            throw .instanceNotFound(id)
        }
        let tail = try Self.positiveInteger(body["tail"], name: "tail") ?? 1000
        var lines: [String]
        if body["daemon_logs"].map({ $0 == .bool(true) || $0 == .string("true") }) ?? false {
            lines = [
                "[sim] daemon: instance \(id) ordered on machine \(instance.offer.machineID)",
                "[sim] daemon: instance \(id) is \(instance.status(at: now).actual ?? "created")",
            ]
        } else if let container = instance.container {
            lines = container.earlierOutput
            if let containerID = container.containerID, let docker {
                lines += await docker.output(of: containerID)
            }
        } else {
            lines = instance.outputLines(at: now)
        }
        if let pattern = body["filter"]?.stringValue, !pattern.isEmpty {
            lines = lines.filter { $0.contains(pattern) }
        }
        lines = Array(lines.suffix(tail))
        let token = Self.newKey()
        logResults[token] = LogResult(
            text: lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n", missesLeft: options.logNotReadyCount,
            reachable: instance.status(at: now).logsReachable)
        logResultOrder.append(token)
        if logResultOrder.count > Self.keptLogResults {
            logResults[logResultOrder.removeFirst()] = nil
        }
        return [
            "success": true, "result_url": .string("\(baseURL)/__sim/logs/\(token)"),
            "msg": "Logs are being uploaded; poll result_url until it answers 200.",
        ]
    }

    /// `GET` of a `result_url`: nil (404) while the upload is "in progress", then the text.
    func logResult(token: String) -> String? {
        guard var result = logResults[token], result.reachable else { return nil }
        if result.missesLeft > 0 {
            result.missesLeft -= 1
            logResults[token] = result
            return nil
        }
        return result.text
    }

    /// The output of instance `id` so far, whole (no tail), for tests: what its log would show.
    public func output(of id: Int) async -> [String] {
        guard let instance = instances[id] else { return [] }
        if let container = instance.container {
            var lines = container.earlierOutput
            if let containerID = container.containerID, let docker {
                lines += await docker.output(of: containerID)
            }
            return lines
        }
        return instance.outputLines(at: clock.now())
    }
}
