import Foundation
import Testing

@testable import ErgonS3

@Suite("S3 log upload state")
struct S3LogUploadStateTests {
    @Test("a state written before part checksums existed reads as an upload without them, and round-trips")
    func statesWithoutPartChecksums() throws {
        let older = #"{"uploadID":"U1","parts":[{"number":1,"etag":"e1","size":5242880}],"liveEnd":5242880,"segments":[0],"sealed":false}"#
        let state = try JSONDecoder().decode(S3LogUploadState.self, from: Data(older.utf8))
        #expect(state.upload == S3MultipartUpload(id: "U1", partChecksums: false))
        #expect(state.parts == [S3UploadedPart(number: 1, etag: "e1", size: 5 << 20)])

        var current = state
        current.upload = S3MultipartUpload(id: "U2", partChecksums: true)
        current.parts.append(S3UploadedPart(number: 2, etag: "e2", size: 7, checksumSHA256: "c2"))
        let reread = try JSONDecoder().decode(S3LogUploadState.self, from: try JSONEncoder().encode(current))
        #expect(reread == current)
        #expect(reread.upload == S3MultipartUpload(id: "U2", partChecksums: true))

        current.dropUpload()
        #expect(current.upload == nil && current.partChecksums == nil && current.parts.isEmpty)
    }
}
