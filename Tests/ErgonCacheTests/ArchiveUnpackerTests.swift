import ErgonCore
import Foundation
import Testing

@testable import ErgonCache

/// ``ArchiveUnpacker`` on archives made by the system's tar (and zstd) in each test.
@Suite("Archive unpacker")
struct ArchiveUnpackerTests {
    /// The tree every archive holds, by relative path.
    static let tree: [String: [UInt8]] = [
        "model/config.json": Array(#"{"layers": 12}"#.utf8),
        "model/weights/part-1.bin": FetcherFixture.randomBytes(300_000),
        "README": Array("unpack me\n".utf8),
    ]

    /// Runs a program to its end; throws when it fails.
    static func run(_ arguments: [String], in folder: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardInput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure(description: "\(arguments.joined(separator: " ")): \(said)") }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Writes ``tree`` under `folder/source`.
    static func writeTree(in folder: String) throws -> String {
        let source = folder + "/source"
        for (relative, bytes) in tree {
            let path = source + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        return source
    }

    static func files(under folder: String) throws -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        for relative in try FileManager.default.subpathsOfDirectory(atPath: folder) {
            var isFolder: ObjCBool = false
            let path = folder + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                found[relative] = FetcherFixture.bytes(at: path)
            }
        }
        return found
    }

    @Test(arguments: [
        (ArchiveFormat.tar, "-cf"), (.tarGzip, "-czf"), (.tarZstd, "--zstd -cf"),
    ])
    func unpacksEachFormat(format: ArchiveFormat, create: String) async throws {
        if format == .tarZstd, ArchiveUnpacker.executable(named: "zstd") == nil {
            Issue.record("zstd is not installed (apt-get install zstd); Scripts/test installs it")
            return
        }
        try await FetcherFixture.withFolder { folder in
            let source = try Self.writeTree(in: folder)
            let archive = folder + "/model." + format.rawValue
            try Self.run(["tar"] + create.split(separator: " ").map(String.init) + [archive, "-C", source, "."], in: folder)
            let out = folder + "/out/entry"
            try await ArchiveUnpacker.unpack(archive, format: format, into: out)
            #expect(try Self.files(under: out) == Self.tree)
        }
    }

    @Test("an archive with a ../ member is refused and writes nothing outside, or inside, the folder")
    func refusesParentMembers() async throws {
        try await FetcherFixture.withFolder { folder in
            let inner = folder + "/build/inner"
            try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
            try Data("ok".utf8).write(to: URL(fileURLWithPath: inner + "/fine.txt"))
            try Data("evil".utf8).write(to: URL(fileURLWithPath: folder + "/build/evil"))
            let archive = folder + "/evil.tar"
            // -P keeps the "../" that tar would otherwise strip when creating.
            try Self.run(["tar", "-P", "-cf", archive, "fine.txt", "../evil"], in: inner)
            let parent = folder + "/cache"
            let out = parent + "/entry"
            let error = try await #require(throws: ResourceError.self) {
                try await ArchiveUnpacker.unpack(archive, format: .tar, into: out)
            }
            #expect(error.kind == .unpackFailed)
            #expect(error.message.contains("evil.tar") && error.message.contains("../evil"), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: parent + "/evil"))
            #expect(!FileManager.default.fileExists(atPath: out + "/fine.txt"))
        }
    }

    @Test("an archive with an absolute member is refused")
    func refusesAbsoluteMembers() async throws {
        try await FetcherFixture.withFolder { folder in
            let file = folder + "/absolute.txt"
            try Data("abs".utf8).write(to: URL(fileURLWithPath: file))
            let archive = folder + "/abs.tar"
            try Self.run(["tar", "-P", "-cf", archive, file], in: folder)
            let error = try await #require(throws: ResourceError.self) {
                try await ArchiveUnpacker.unpack(archive, format: .tar, into: folder + "/out")
            }
            #expect(error.kind == .unpackFailed)
            #expect(error.message.contains(file), "\(error)")
        }
    }

    @Test("a file that is not an archive fails with tar's own words, naming the archive")
    func notAnArchive() async throws {
        try await FetcherFixture.withFolder { folder in
            let archive = folder + "/broken.tar.gz"
            try Data(FetcherFixture.randomBytes(4096)).write(to: URL(fileURLWithPath: archive))
            let error = try await #require(throws: ResourceError.self) {
                try await ArchiveUnpacker.unpack(archive, format: .tarGzip, into: folder + "/out")
            }
            #expect(error.kind == .unpackFailed)
            #expect(error.message.contains("broken.tar.gz") && error.message.contains("gzip"), "\(error)")
        }
    }

    @Test("cancelling stops the running program", .timeLimit(.minutes(1)))
    func cancellationStopsTheProgram() async throws {
        let sleeper = Task { try await ArchiveUnpacker.run("/bin/sleep", ["120"]) }
        try await Task.sleep(for: .milliseconds(300))
        sleeper.cancel()
        // A signal that does not reach the program would leave it its 120 s (past the limit).
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func listingChecks() {
        #expect(ArchiveUnpacker.unsafeMember(in: "a\nb/c\n./d\n") == nil)
        #expect(ArchiveUnpacker.unsafeMember(in: "a\n../b\n") == "../b")
        #expect(ArchiveUnpacker.unsafeMember(in: "a/../../b\n") == "a/../../b")
        #expect(ArchiveUnpacker.unsafeMember(in: "/etc/passwd\n") == "/etc/passwd")
        #expect(ArchiveUnpacker.unsafeMember(in: "a..b/c..\n") == nil)
    }
}
