import ErgonCore
import ErgonTestSupport
import Foundation
import Testing

@Suite struct ArtifactNameTests {
    @Test(arguments: ["a.txt", "model.tar.zst", ".hidden", "with space", "é.json", "..x", "x.."])
    func accepted(_ name: String) throws {
        #expect(try ArtifactName(name).value == name)
    }

    @Test(arguments: [
        ("", "is empty"), (".", "is not a file name"), ("..", "is not a file name"), ("/etc/passwd", "is an absolute path"),
        ("../x", "has a folder in it"), ("a/b", "has a folder in it"), ("a\\b", "has a folder in it"),
        ("a\u{0}b", "control character"), ("a\nb", "control character"), (String(repeating: "x", count: 201), "longer than 200"),
    ])
    func refused(_ name: String, _ problem: String) {
        #expect {
            _ = try ArtifactName(name)
        } throws: { error in
            (error as? ArtifactNameError)?.description.contains(problem) == true
        }
    }

    @Test func decodingValidates() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ArtifactName].self, from: Data(#"["../x"]"#.utf8)) }
    }
}

@Suite struct ArtifactCollectorTests {
    @Test("only regular files at the top become artifacts; folders, links and bad names are named")
    func scan() async throws {
        try await withArtifactScratch { directory in
            let fm = FileManager.default
            try Data("a".utf8).write(to: URL(fileURLWithPath: directory + "/a.txt"))
            try Data("b".utf8).write(to: URL(fileURLWithPath: directory + "/.b"))
            try fm.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/sub/x"))
            try fm.createSymbolicLink(atPath: directory + "/link", withDestinationPath: "/etc/passwd")
            try fm.createSymbolicLink(atPath: directory + "/dangling", withDestinationPath: "nowhere")
            try Data("c".utf8).write(to: URL(fileURLWithPath: directory + "/back\\slash"))
            let scan = try ArtifactCollector().scan(directory)
            #expect(scan.files.map(\.name.value) == [".b", "a.txt"])
            #expect(scan.skipped == [
                "\"back\\slash\": has a folder in it (artifacts are flat: no `/`)",
                "\"dangling\": a link (links are never followed)",
                "\"link\": a link (links are never followed)",
                "\"sub\": a folder (artifacts are the files at the top of /data/current)",
            ])
            #expect(try ArtifactCollector().scan(directory + "/missing") == ArtifactCollector.Scan())
        }
    }
}

@Suite struct ArtifactSafetyTests {
    @Test("an output folder replaced by a link is never followed")
    func linkedOutputFolder() async throws {
        try await withArtifactScratch { directory in
            try FileManager.default.createDirectory(atPath: directory + "/host", withIntermediateDirectories: true)
            try Data("secret".utf8).write(to: URL(fileURLWithPath: directory + "/host/upload.key"))
            try FileManager.default.createSymbolicLink(atPath: directory + "/out", withDestinationPath: directory + "/host")
            let scan = try ArtifactCollector().scan(directory + "/out")
            #expect(scan.files.isEmpty)
            #expect(scan.skipped == ["/data/current: not a folder (a link or a file); nothing was published"])
        }
    }

    @Test("slugs that the /data layout uses are refused", arguments: [".", "..", "current", "6f1c2a90-3d4e-4b5a-9c8d-7e6f5a4b3c2d"])
    func reservedSlugs(_ slug: String) {
        #expect(!WorkflowLoader.isValidSlug(slug))
        #expect(throws: WorkflowError.self) {
            try WorkflowLoader.parse(text: "name: w\ntasks:\n  - {slug: \"\(slug)\", image: i, command: [x]}\n", fileName: "w.yaml")
        }
    }

    @Test("a parent slug never removes a folder when links are laid out")
    func layoutRemovesOnlyLinks() async throws {
        try await withArtifactScratch { directory in
            let queue = MemoryTaskQueue()
            let (_, tasks) = try await queue.submit(
                WorkflowSpec(name: "w", tasks: [TaskSpec(slug: "p", image: "i"), TaskSpec(slug: "c", image: "i", parents: ["p"])]),
                defaultMaxAttempts: 1, at: Date())
            let data = try TaskWorkspace(root: directory + "/work").prepare(taskID: tasks[1].id)
            try FileManager.default.createDirectory(atPath: data + "/p", withIntermediateDirectories: true)
            try Data("keep".utf8).write(to: URL(fileURLWithPath: data + "/p/file"))
            await #expect(throws: (any Error).self) {
                try await ParentArtifactLayout(store: FileArtifactStore(root: directory + "/a")).place(parents: [tasks[0]], in: data)
            }
            #expect(FileManager.default.fileExists(atPath: data + "/p/file"))
        }
    }
}

@Suite struct FileArtifactStoreTests {
    @Test("store, list, fetch, replace, remove")
    func roundTrip() async throws {
        try await withArtifactScratch { directory in
            let store = FileArtifactStore(root: directory + "/artifacts")
            let owner = ArtifactOwner(workflowID: UUID(), taskID: UUID())
            #expect(try await store.list(owner).isEmpty)
            let bytes = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            try bytes.write(to: URL(fileURLWithPath: directory + "/in"))
            let stored = try await store.store(owner, name: ArtifactName("big.bin"), file: directory + "/in", contentType: "application/x-test")
            #expect(stored.size == Int64(bytes.count) && stored.contentType == "application/x-test")
            try Data("z".utf8).write(to: URL(fileURLWithPath: directory + "/z"))
            try await store.store(owner, name: ArtifactName("a.txt"), file: directory + "/z", contentType: "text/plain")
            #expect(try await store.list(owner).map(\.name.value) == ["a.txt", "big.bin"])

            try await store.fetch(owner, name: ArtifactName("big.bin"), to: directory + "/out")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/out")) == bytes)
            await #expect(throws: ArtifactStoreError.self) {
                try await store.fetch(owner, name: ArtifactName("missing"), to: directory + "/never")
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/never"))

            // Replacing keeps the creation time and changes the bytes.
            try await store.store(owner, name: ArtifactName("big.bin"), file: directory + "/z", contentType: "text/plain")
            let replaced = try #require(try await store.artifact(owner, name: ArtifactName("big.bin")))
            #expect(replaced.size == 1 && replaced.created == stored.created)

            // Another task's artifacts are apart; removeAll is idempotent.
            let other = ArtifactOwner(workflowID: owner.workflowID, taskID: UUID())
            #expect(try await store.list(other).isEmpty)
            try await store.removeAll(owner)
            try await store.removeAll(owner)
            #expect(try await store.list(owner).isEmpty)
            #expect(try await store.directDownloadURL(owner, name: ArtifactName("a.txt"), validFor: .seconds(60)) == nil)
        }
    }

    @Test("parents are laid out as the worker contract says, afresh at each launch")
    func parentLayout() async throws {
        try await withArtifactScratch { directory in
            let store = FileArtifactStore(root: directory + "/artifacts")
            let queue = MemoryTaskQueue()
            let (_, tasks) = try await queue.submit(
                WorkflowSpec(name: "w", tasks: [
                    TaskSpec(slug: "p", image: "i"), TaskSpec(slug: "q", image: "i"),
                    TaskSpec(slug: "c", image: "i", parents: ["p", "q"]),
                ]), defaultMaxAttempts: 1, at: Date())
            let (p, q, c) = (tasks[0], tasks[1], tasks[2])
            try Data("from p".utf8).write(to: URL(fileURLWithPath: directory + "/f"))
            try await store.store(ArtifactOwner(p), name: ArtifactName("out.txt"), file: directory + "/f", contentType: "text/plain")
            let data = try TaskWorkspace(root: directory + "/work").prepare(taskID: c.id)
            #expect(try await ParentArtifactLayout(store: store).place(parents: [p, q], in: data) == 1)
            let pid = p.id.uuidString.lowercased()
            let fm = FileManager.default
            #expect(try String(contentsOfFile: data + "/\(pid)/out.txt", encoding: .utf8) == "from p")
            #expect(try fm.destinationOfSymbolicLink(atPath: data + "/p") == pid)
            #expect(try fm.destinationOfSymbolicLink(atPath: data + "/q") == q.id.uuidString.lowercased())
            #expect(try fm.contentsOfDirectory(atPath: data + "/" + q.id.uuidString.lowercased()).isEmpty)
            #expect(try fm.destinationOfSymbolicLink(atPath: data + "/current") == c.id.uuidString.lowercased())

            // The parent ran again with other files: the next launch sees only those.
            try await store.removeAll(ArtifactOwner(p))
            try await store.store(ArtifactOwner(p), name: ArtifactName("new.txt"), file: directory + "/f", contentType: "text/plain")
            try await ParentArtifactLayout(store: store).place(parents: [p, q], in: data)
            #expect(try fm.contentsOfDirectory(atPath: data + "/\(pid)") == ["new.txt"])
        }
    }
}

/// Runs `body` with a fresh directory under the system's temporary directory, removed afterwards.
private func withArtifactScratch<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ergon-artifacts-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
