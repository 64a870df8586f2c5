import Crypto
import ErgonCore
import Foundation

/// An artifact as the worker API answers it (Arkindex's artifact object):
/// `{"id","path","size","content_type","s3_put_url","created","updated"}`.
struct ArtifactView: Encodable, Sendable {
    let id: String
    let path: String
    let size: Int64
    let contentType: String
    /// Where to `PUT` the bytes: set only in `CreateArtifact`'s answer, `null` in listings.
    let s3PutUrl: String?
    let created: Date
    let updated: Date

    init(_ artifact: Artifact, taskID: UUID, putURL: String? = nil) {
        id = Self.id(taskID: taskID, name: artifact.name).uuidString.lowercased()
        path = artifact.name.value
        size = artifact.size
        contentType = artifact.contentType
        s3PutUrl = putURL
        created = artifact.created
        updated = artifact.updated
    }

    enum CodingKeys: String, CodingKey {
        case id, path, size, contentType, s3PutUrl, created, updated
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(path, forKey: .path)
        try container.encode(size, forKey: .size)
        try container.encode(contentType, forKey: .contentType)
        // `null`, not absent: the worker reads `artifact["s3_put_url"]`.
        try container.encode(s3PutUrl, forKey: .s3PutUrl)
        try container.encode(created, forKey: .created)
        try container.encode(updated, forKey: .updated)
    }

    /// A stable id for an artifact: the store keeps none, and a retried request must see the
    /// same one. The first 16 bytes of SHA-256(task id, name), shaped as a version 4-style UUID.
    static func id(taskID: UUID, name: ArtifactName) -> UUID {
        let digest = SHA256.hash(data: Data("\(taskID.uuidString.lowercased())/\(name.value)".utf8))
        var bytes = Array(digest.prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
