import ErgonCore
import ErgonS3
import ErgonTestSupport
import Foundation
import Testing

/// What `ergon gc` asks of the S3 log store: every object of a task's logs, live segments of
/// a log still being written included, listed and removed, other tasks' left alone.
@Suite("S3 log store removal", .s3Server)
struct S3LogStoreRemovalTests {
    /// A spool file holding `size` bytes of `fill`, for `key`.
    static func spool(_ key: LogKey, size: Int, fill: UInt8, in directory: String) throws -> SpooledLog {
        let path = directory + "/\(key.taskID.uuidString.lowercased())-\(key.attempt).log"
        try Data(repeating: fill, count: size).write(to: URL(fileURLWithPath: path))
        return SpooledLog(key: key, path: path, length: Int64(size), isComplete: false)
    }

    @Test func listsAndRemovesEveryAttemptAndLiveSegment() async throws {
        let bucket = try S3TestServer.makeBucket()
        let directory = NSTemporaryDirectory() + "ergon-s3-gc-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let workflowID = UUID()
        let taskID = UUID()
        let first = LogKey(workflowID: workflowID, taskID: taskID, attempt: 1)
        let second = LogKey(workflowID: workflowID, taskID: taskID, attempt: 2)
        let other = LogKey(workflowID: workflowID, taskID: UUID(), attempt: 1)
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "logs")
            // Attempt 1: sealed. Attempt 2 of the same task: two live segments, not sealed.
            var log = try Self.spool(first, size: 3000, fill: 1, in: directory)
            log.isComplete = true
            _ = try await store.ship(log)
            _ = try await store.ship(try Self.spool(second, size: 1000, fill: 2, in: directory))
            _ = try await store.ship(try Self.spool(second, size: 2500, fill: 2, in: directory))
            var otherLog = try Self.spool(other, size: 100, fill: 3, in: directory)
            otherLog.isComplete = true
            _ = try await store.ship(otherLog)

            let objects = try await store.objects(workflowID: workflowID, taskID: taskID)
            #expect(objects.map(\.key).sorted() == [
                store.objectKey(first), store.liveFolder(second) + "00000000000000000000",
                store.liveFolder(second) + "00000000000000001000",
            ].sorted())
            #expect(objects.reduce(0) { $0 + $1.size } == 3000 + 2500)

            try await store.remove(objects)
            #expect(try await store.objects(workflowID: workflowID, taskID: taskID) == [])
            #expect(try await store.read(key: first, from: 0) == nil)
            #expect((try await store.read(key: second, from: 0) ?? []).isEmpty)
            // Removing again is no error; the other task's log is untouched.
            try await store.remove(objects)
            #expect(try await store.read(key: other, from: 0) == [UInt8](repeating: 3, count: 100))
        }
    }

    @Test("a log whose agent stopped for good mid-upload: its unfinished multipart upload is listed and aborted")
    func abortsUnfinishedUploads() async throws {
        let bucket = try S3TestServer.makeBucket()
        let directory = NSTemporaryDirectory() + "ergon-s3-gc-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = LogKey(workflowID: UUID(), taskID: UUID(), attempt: 1)
        let other = LogKey(workflowID: key.workflowID, taskID: UUID(), attempt: 1)
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "logs", partSize: S3Client.minimumPartSize)
            // More than a part, not sealed: one part is in an upload that is never completed.
            _ = try await store.ship(try Self.spool(key, size: 6 << 20, fill: 4, in: directory))
            _ = try await store.ship(try Self.spool(other, size: 6 << 20, fill: 5, in: directory))
            let objects = try await store.objects(workflowID: key.workflowID, taskID: key.taskID)
            let uploads = objects.filter { $0.uploadID != nil }
            #expect(uploads.map(\.key) == [store.objectKey(key)])
            #expect(objects.count == 2, "the live segment and the upload: \(objects)")

            try await store.remove(objects)
            #expect(try await store.objects(workflowID: key.workflowID, taskID: key.taskID) == [])
            #expect(try await client.listMultipartUploads(bucket: bucket, prefix: "logs/").map(\.key) == [store.objectKey(other)])
            try await store.remove(objects)
        }
    }
}
