import ErgonCore
import Foundation
import Testing

/// Files that agents sharing a data_dir write together (the image record, the server's upload
/// key): no writer fails because another one wrote at the same moment.
@Suite struct DurableFileTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "ergon-durable-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func concurrentWritesEachSucceedAndOneOfThemIsKept() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/images.json"
        let contents = (0..<16).map { Data("writer \($0)\n".utf8) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for data in contents {
                group.addTask { for _ in 0..<20 { try DurableFile.write(data, to: path) } }
            }
            try await group.waitForAll()
        }
        let kept = try #require(FileManager.default.contents(atPath: path))
        #expect(contents.contains(kept))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["images.json"], "no temporary file is left")
    }

    @Test func createKeepsTheFirstWritersContent() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/upload.key"
        let contents = (0..<16).map { Data("key \($0)".utf8) }
        let won = try await withThrowingTaskGroup(of: Data?.self) { group in
            for data in contents {
                group.addTask { try DurableFile.create(data, at: path, mode: 0o600) ? data : nil }
            }
            return try await group.reduce(into: [Data]()) { if let data = $1 { $0.append(data) } }
        }
        #expect(won.count == 1)
        #expect(FileManager.default.contents(atPath: path) == won.first)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try DurableFile.create(Data("late".utf8), at: path) == false)
        #expect(FileManager.default.contents(atPath: path) == won.first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["upload.key"])
    }

    @Test func aMissingFolderIsReportedWithItsPath() {
        let path = "/nonexistent-ergon-folder/x.json"
        #expect {
            try DurableFile.write(Data("x".utf8), to: path)
        } throws: { error in
            "\(error)".contains("/nonexistent-ergon-folder/x.json.tmp-")
        }
    }
}
