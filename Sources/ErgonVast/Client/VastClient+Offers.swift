import Foundation
import Logging

extension VastClient {
    /// `POST /api/v0/bundles/` with `body` as given (the filters, `order`, `type`, `limit`,
    /// `allocated_storage`; built by the offer query elsewhere).
    ///
    /// The answer must be `application/json` exactly, as the official CLI requires. An offer missing
    /// a required field is skipped with a warning; if every offer is unreadable the call fails with
    /// `.malformed`, since the API's shape has then changed. Search is the most tightly rate-limited
    /// endpoint (about 10 a minute): a `Retry-After` up to ``VastRetryPolicy/maxRetryAfter`` is waited out.
    public func searchOffers(body: JSONValue) async throws -> [VastOffer] {
        let call = VastCall.searchOffers(body: body)
        let answer = try await perform(call)
        guard let items = answer["offers"]?.arrayValue else {
            throw malformed(call, "the answer has no \"offers\" list")
        }
        var offers: [VastOffer] = []
        offers.reserveCapacity(items.count)
        var firstProblem: String?
        for (index, item) in items.enumerated() {
            do {
                offers.append(try VastOffer(fields: VastFields(item)))
            } catch {
                let problem = "offer \(VastFields(item).int("id").map(String.init) ?? "#\(index)") has no readable \"\(error.field)\""
                firstProblem = firstProblem ?? problem
                logger.warning("skipping an unreadable offer", metadata: ["problem": "\(problem)"])
            }
        }
        if offers.isEmpty, let firstProblem {
            throw malformed(call, "no offer could be read: \(firstProblem)")
        }
        return offers
    }
}
