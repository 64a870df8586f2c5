import AsyncHTTPClient
import Foundation
import Logging

extension VastClient {
    /// The last `tail` lines of the instance's container output.
    ///
    /// `PUT /api/v0/instances/request_logs/{id}/` with `{"tail": "N"}` (string values, as the CLI
    /// sends them) answers a `result_url`, which is then fetched without credentials until it
    /// answers 200: ``VastRetryPolicy/logPollAttempts`` times, ``VastRetryPolicy/logPollDelay``
    /// apart. Throws `.timeout` when the log never becomes ready.
    public func logs(id: Int, tail: Int) async throws -> String {
        let call = VastCall.requestLogs(id: id, tail: tail)
        let answer = try await perform(call)
        guard let resultURL = VastFields(answer).string("result_url"), !resultURL.isEmpty else {
            throw malformed(call, "the answer has no \"result_url\"")
        }
        return try await pollLog(at: resultURL, instanceID: id)
    }

    /// Fetches `resultURL` until it answers 200 or the policy's polls are used up.
    private func pollLog(at resultURL: String, instanceID: Int) async throws -> String {
        let call = VastCall.fetchLogs(id: instanceID)
        guard let url = URL(string: resultURL), url.scheme == "http" || url.scheme == "https" else {
            throw malformed(call, "\"result_url\" is not an http(s) URL")
        }
        var lastAnswer = "none"
        for poll in 1...retry.logPollAttempts {
            try await clock.sleep(for: retry.logPollDelay)
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .GET
            request.headers.add(name: "User-Agent", value: "ergon-vast")
            // No Authorization header: the URL is pre-signed and usually on another host.
            do {
                let response = try await exchange(request, call: call)
                if response.status == 200 { return response.text }
                lastAnswer = "HTTP \(response.status)"
            } catch let error as VastError {
                lastAnswer = error.message
            }
            logger.trace("log not ready", metadata: ["instance": "\(instanceID)", "poll": "\(poll)", "answer": "\(lastAnswer)"])
        }
        throw VastError(
            kind: .timeout,
            message: "\(call.label): the log was not ready after \(retry.logPollAttempts) tries; last answer: \(lastAnswer)"
        ).redacting(apiKey.value)
    }
}
