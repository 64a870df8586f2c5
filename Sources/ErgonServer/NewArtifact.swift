import ErgonCore
import Foundation

/// The body of `CreateArtifact`: `{"path", "content_type", "size"}`, checked field by field so
/// a refusal names the field at fault.
struct NewArtifact: Sendable, Equatable {
    var name: ArtifactName
    /// Nil when the worker sent none: guessed from the name at upload.
    var contentType: String?
    var size: Int64

    /// The fields as sent, all optional so a missing one is named rather than a decoding error.
    private struct Fields: Decodable {
        var path: String?
        var contentType: String?
        var size: Int64?
    }

    /// What a field should hold, for messages.
    private static func expectation(_ key: String) -> String {
        switch key {
        case "path": return "the artifact's file name (a string)"
        case "content_type": return "a media type string such as \"text/plain\""
        case "size": return "the file's length in bytes (an integer ≥ 0)"
        default: return "a JSON value of the right type"
        }
    }

    /// The artifact the body declares, or the 400 naming the field at fault.
    static func parse(_ data: Data) -> Result<NewArtifact, APIError> {
        Result { () throws(APIError) in try fields(data) }
    }

    private static func fields(_ data: Data) throws(APIError) -> NewArtifact {
        let fields: Fields
        do {
            fields = try APIJSON.decoder.decode(Fields.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) {
            throw wrongField(context)
        } catch let DecodingError.valueNotFound(_, context) {
            throw wrongField(context)
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw wrongField(context)
        } catch {
            throw .badRequest("the body must be a JSON object {\"path\", \"content_type\", \"size\"}")
        }
        guard let path = fields.path else { throw .badRequest("path: required, \(expectation("path"))") }
        let name: ArtifactName
        do {
            name = try ArtifactName(path)
        } catch {
            throw .badRequest("path: \(error.description)")
        }
        guard let size = fields.size else { throw .badRequest("size: required, \(expectation("size"))") }
        guard size >= 0 else { throw .badRequest("size: \(size) is negative; expected \(expectation("size"))") }
        let contentType = fields.contentType.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        return NewArtifact(name: name, contentType: contentType, size: size)
    }

    private static func wrongField(_ context: DecodingError.Context) -> APIError {
        let key = context.codingPath.first.map { $0.stringValue.snakeCased } ?? "body"
        return .badRequest("\(key): expected \(expectation(key))")
    }
}

extension String {
    /// `contentType` → `content_type`: coding keys back in the wire's spelling.
    fileprivate var snakeCased: String {
        var result = ""
        for character in self {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
