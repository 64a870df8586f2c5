import AsyncHTTPClient
import ErgonCore
import ErgonS3
import ErgonTestSupport
import Foundation
import Testing

/// A spool file that grows, shipped to an S3 log store like the scheduler does.
struct GrowingLog {
    let key = LogKey(workflowID: UUID(), taskID: UUID(), attempt: 1)
    let path: String
    let bytes: [UInt8]

    init(size: Int) throws {
        let file = try temporaryFile(size: size, seed: UInt64(size))
        path = file.path
        bytes = file.bytes
        // The spool starts empty; `grow(to:)` reveals the bytes.
        try Data().write(to: URL(fileURLWithPath: path))
    }

    func grow(to length: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(bytes[0..<length]))
    }

    func spooled(_ length: Int, complete: Bool = false) -> SpooledLog {
        SpooledLog(key: key, path: path, length: Int64(length), isComplete: complete)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".s3.json")
    }
}

@Suite("S3 log store", .s3Server)
struct S3LogStoreTests {
    @Test("a log growing over 200 flushes costs at most 2.2× its size plus one part, and is byte-identical at the end")
    func linearUpload() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 20 << 20)
        defer { log.remove() }
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "p", partSize: S3Client.minimumPartSize)
            let flushes = 200
            var naive: Int64 = 0
            for flush in 1...flushes {
                let length = log.bytes.count * flush / flushes
                try log.grow(to: length)
                let visible = try await store.ship(log.spooled(length))
                #expect(visible == Int64(length))
                naive += Int64(length)
                if flush % 50 == 0 {
                    // Readers see exactly what was written so far.
                    let live = try await store.read(key: log.key, from: 0)
                    #expect(live == Array(log.bytes[0..<length]))
                    let middle = try await store.read(key: log.key, from: Int64(length / 2))
                    #expect(middle == Array(log.bytes[(length / 2)..<length]))
                }
            }
            #expect(try await store.ship(log.spooled(log.bytes.count, complete: true)) == Int64(log.bytes.count))
            let object = try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key))
            #expect(object == log.bytes)
            #expect(try S3TestServer.listKeys(bucket: bucket).filter { $0.hasPrefix(store.liveFolder(log.key)) }.isEmpty)
            #expect(try await store.read(key: log.key, from: 0) == log.bytes)
            let sent = client.statistics.bodyBytesSent
            let size = Int64(log.bytes.count)
            print("growing log: \(size) bytes over \(flushes) flushes, \(sent) sent (\(Double(sent) / Double(size))×); a whole upload per flush would send \(naive) (\(Double(naive) / Double(size))×)")
            #expect(sent <= Int64(2.2 * Double(size)) + store.partSize)
            // Shipping a sealed log again sends nothing.
            #expect(try await store.ship(log.spooled(log.bytes.count, complete: true)) == size)
            #expect(client.statistics.bodyBytesSent == sent)
        }
    }

    @Test("a new store (an agent restarted mid-upload, its last step unrecorded) finishes the log from the spool")
    func resumesAfterRestart() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 13 << 20)
        defer { log.remove() }
        let statePath = log.path + ".s3.json"
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "", partSize: S3Client.minimumPartSize)
            try log.grow(to: 6 << 20)
            _ = try await store.ship(log.spooled(6 << 20))
            let recorded = try Data(contentsOf: URL(fileURLWithPath: statePath))
            try log.grow(to: 11 << 20)
            _ = try await store.ship(log.spooled(11 << 20))
            // The crash: the second ship's bookkeeping is lost, its objects and part are not.
            try recorded.write(to: URL(fileURLWithPath: statePath))
        }
        try log.grow(to: log.bytes.count)
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "", partSize: S3Client.minimumPartSize)
            #expect(try await store.read(key: log.key, from: 0) == Array(log.bytes[0..<(11 << 20)]))
            _ = try await store.ship(log.spooled(log.bytes.count, complete: true))
            #expect(try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key)) == log.bytes)
            #expect(try S3TestServer.listKeys(bucket: bucket).filter { $0.hasPrefix(store.liveFolder(log.key)) }.isEmpty)
        }
    }

    @Test("bytes shipped past what the queue recorded are replaced by what the spool holds at the end")
    func unrecordedBytesAreReplaced() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 7 << 20)
        defer { log.remove() }
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "y", partSize: S3Client.minimumPartSize)
            try log.grow(to: 6 << 20)
            _ = try await store.ship(log.spooled(6 << 20))
            // The queue only recorded 4 MiB; the attempt ends there plus new bytes.
            var ending = Array(log.bytes[0..<(4 << 20)])
            ending += Array("[ergon] attempt 1: rewritten end\n".utf8)
            try Data(ending).write(to: URL(fileURLWithPath: log.path))
            _ = try await store.ship(log.spooled(ending.count, complete: true))
            #expect(try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key)) == ending)
        }
    }

    @Test("a sealed log that gets longer (a note added by a retried finish) is sealed again, whole")
    func resealedLonger() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 12 << 20)
        defer { log.remove() }
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "r", partSize: S3Client.minimumPartSize)
            try log.grow(to: 11 << 20)
            _ = try await store.ship(log.spooled(11 << 20, complete: true))
            try log.grow(to: log.bytes.count)
            _ = try await store.ship(log.spooled(log.bytes.count, complete: true))
            #expect(try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key)) == log.bytes)
        }
    }

    @Test("an unreadable upload state is started over from the spool")
    func unreadableState() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 7 << 20)
        defer { log.remove() }
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "u", partSize: S3Client.minimumPartSize)
            try log.grow(to: 6 << 20)
            _ = try await store.ship(log.spooled(6 << 20))
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: log.path + ".s3.json"))
            try log.grow(to: log.bytes.count)
            _ = try await store.ship(log.spooled(log.bytes.count, complete: true))
            #expect(try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key)) == log.bytes)
        }
    }

    @Test("an empty log ends as an empty object")
    func emptyLog() async throws {
        let bucket = try S3TestServer.makeBucket()
        let log = try GrowingLog(size: 0)
        defer { log.remove() }
        try await withS3Client { client in
            let store = S3LogStore(client: client, bucket: bucket, prefix: "e")
            let shipped = try await store.ship(log.spooled(0, complete: true))
            #expect(shipped == 0)
            #expect(try S3TestServer.readObject(bucket: bucket, key: store.objectKey(log.key)) == [])
        }
    }
}
