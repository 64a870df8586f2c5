import ErgonVast
import Foundation

/// The `next_token` of the instance listing: the sort-key values of the last row of a page
/// (base64 of `{"values": [...]}`, like Vast's), so the next page starts right after that row
/// even when instances come and go between pages.
struct InstancePageToken: Sendable {
    var values: [JSONValue]

    /// The token after `row` for a listing ordered on `fields`.
    init(row: [String: JSONValue], fields: [String]) {
        self.values = fields.map { row[$0] ?? .null }
    }

    /// Reads a token; throws 400 when it is not one of ours for this ordering.
    init(text: String, fields: [String]) throws(SimulatorAPIError) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let json = try? JSONValue.decode(data),
            let values = json["values"]?.arrayValue, values.count == fields.count
        else { throw .invalidArguments("after_token: not a token of this listing") }
        self.values = values
    }

    /// The token's text (URL-safe base64).
    var text: String {
        let json: JSONValue = ["values": .array(values)]
        return json.encoded().base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// True when `row` sorts after the token's row under `order`.
    func precedes(_ row: [String: JSONValue], order: [(field: String, ascending: Bool)]) -> Bool {
        for (index, key) in order.enumerated() {
            let mine = values[index]
            let theirs = row[key.field] ?? .null
            // Nulls sort last in either direction (as in ``JSONOrdering/sorted(_:by:)``).
            let comparison: Int
            switch (mine == .null, theirs == .null) {
            case (true, true): comparison = 0
            case (true, false): comparison = 1
            case (false, true): comparison = -1
            case (false, false):
                let order = JSONOrdering.compare(mine, theirs) ?? 0
                comparison = key.ascending ? order : -order
            }
            if comparison != 0 { return comparison < 0 }
        }
        return false
    }
}
