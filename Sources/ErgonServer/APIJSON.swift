import Foundation
import Hummingbird

/// The JSON conventions of both APIs: snake_case keys, ISO 8601 dates, absent values as `null`
/// (the same shapes as the CLI's `--json`).
enum APIJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// A response carrying `value` as JSON.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            // Only a bug in a view type gets here; still answer JSON.
            data = Data(#"{"detail":"the server could not encode its answer"}"#.utf8)
            return raw(data, status: .internalServerError)
        }
        return raw(data, status: status)
    }

    /// A response carrying already encoded JSON.
    static func raw(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
