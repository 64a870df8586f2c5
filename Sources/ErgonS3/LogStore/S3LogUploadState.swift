import ErgonCore
import Foundation

/// What the S3 log store has sent of one log, kept next to its spool file
/// (`<spool file>.s3.json`) so that a restart goes on where the last run stopped.
///
/// Every field is written after the S3 call it records succeeded: a crash in between makes
/// the next run send the same bytes again to the same place, never skip them.
struct S3LogUploadState: Codable, Equatable {
    /// The multipart upload that becomes the final object, once one part was sent.
    var uploadID: String?
    /// Whether that upload has SHA-256 part checksums (absent in states written before they
    /// existed, whose uploads have none).
    var partChecksums: Bool?
    /// Parts sent, contiguous from byte 0.
    var parts: [S3UploadedPart] = []
    /// Bytes readers see as live segments, from byte 0.
    var liveEnd: Int64 = 0
    /// Where each live segment starts, in order: segment `i` holds the log from `segments[i]`
    /// to `segments[i + 1]` (or `liveEnd`), so readers follow the chain without a listing.
    var segments: [Int64] = []
    /// True once the final object holds the whole log and the live segments are gone.
    var sealed = false
    /// The length of the sealed log.
    var sealedLength: Int64?

    /// The upload, as recorded.
    var upload: S3MultipartUpload? {
        get { uploadID.map { S3MultipartUpload(id: $0, partChecksums: partChecksums ?? false) } }
        set {
            uploadID = newValue?.id
            partChecksums = newValue?.partChecksums
        }
    }

    /// Bytes covered by the parts.
    var partsEnd: Int64 { parts.reduce(0) { $0 + $1.size } }

    /// Forgets whatever lies past `length` (bytes the queue never recorded may be rewritten).
    mutating func clip(to length: Int64) {
        var end: Int64 = 0
        var kept: [S3UploadedPart] = []
        for part in parts {
            guard end + part.size <= length else { break }
            kept.append(part)
            end += part.size
        }
        parts = kept
        guard liveEnd > length else { return }
        // The segment holding `length` is sent again from its start, so the chain stays exact.
        segments.removeAll { $0 >= length }
        liveEnd = segments.popLast() ?? 0
    }

    /// Starts the upload over (the server no longer knows it).
    mutating func dropUpload() {
        upload = nil
        parts = []
    }

    /// The recorded state; a fresh one when there is none or it cannot be read (sending the
    /// whole log again from the spool is always safe).
    static func load(_ path: String) -> S3LogUploadState {
        guard let data = FileManager.default.contents(atPath: path),
            let state = try? JSONDecoder().decode(S3LogUploadState.self, from: data)
        else { return S3LogUploadState() }
        return state
    }

    func save(_ path: String) throws {
        do {
            try DurableFile.write(try JSONEncoder().encode(self), to: path)
        } catch {
            throw S3LogStoreError(path: path, reason: "cannot write the upload state: \(error)")
        }
    }
}

/// The S3 log store's local bookkeeping failed.
struct S3LogStoreError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}
