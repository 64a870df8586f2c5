import CompressNIO
import ErgonCore
import Foundation
import NIOCore
import Testing

@testable import ErgonVast

/// Writes tar archives member by member (ustar headers, PAX and GNU long names), for the reader's tests.
struct TarBuilder {
    private(set) var bytes: [UInt8] = []

    mutating func file(_ path: String, mode: UInt32 = 0o755, contents: String = "") {
        member(path, type: "0", mode: mode, contents: Array(contents.utf8))
    }

    mutating func directory(_ path: String) { member(path, type: "5", mode: 0o755) }
    mutating func symlink(_ path: String, to target: String) { member(path, type: "2", mode: 0o777, link: target) }
    mutating func hardLink(_ path: String, to target: String, mode: UInt32 = 0o755) { member(path, type: "1", mode: mode, link: target) }

    /// A member whose name only a PAX `path` record holds (the header's is cut).
    mutating func paxFile(_ path: String, mode: UInt32 = 0o755) {
        let record = { (key: String, value: String) -> String in
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while "\(length)".utf8.count + body.utf8.count != length { length += 1 }
            return "\(length)\(body)"
        }
        member("PaxHeaders/x", type: "x", mode: 0o644, contents: Array((record("mtime", "1") + record("path", path)).utf8))
        member(String(path.prefix(90)), type: "0", mode: mode)
    }

    /// A file whose size only a PAX `size` record gives (as for files over 8 GiB), its header's
    /// field left at 0; `declaredSize` replaces the record's value.
    mutating func paxSizedFile(_ path: String, contents: String, declaredSize: String? = nil) {
        let body = " size=\(declaredSize ?? String(contents.utf8.count))\n"
        var length = body.utf8.count + 1
        while "\(length)".utf8.count + body.utf8.count != length { length += 1 }
        member("PaxHeaders/y", type: "x", mode: 0o644, contents: Array("\(length)\(body)".utf8))
        member(path, type: "0", mode: 0o755, contents: Array(contents.utf8), sizeField: 0)
    }

    /// A member whose name a GNU `L` member holds.
    mutating func gnuLongFile(_ path: String, mode: UInt32 = 0o755) {
        member("././@LongLink", type: "L", mode: 0o644, contents: Array(path.utf8) + [0])
        member(String(path.prefix(90)), type: "0", mode: mode)
    }

    /// The archive with its two end blocks.
    var archive: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    /// A GNU-format member ("ustar  \0"), whose bytes 345..<500 hold times, not a name prefix.
    mutating func gnuFile(_ path: String) {
        member(path, type: "0", mode: 0o755, gnu: true)
    }

    /// A pre-POSIX folder: type NUL, the name ending in '/'.
    mutating func v7Directory(_ path: String) { member(path + "/", type: "\0", mode: 0o755) }

    /// A member whose checksum is the sum of signed bytes (old writers), its name holding a byte above 127.
    mutating func signedChecksumFile(_ path: String) { member(path, type: "0", mode: 0o755, signed: true) }

    /// A header announcing `size` bytes in GNU's base-256 form.
    mutating func base256Sized(_ path: String, size: UInt64) {
        member(path, type: "0", mode: 0o755, base256Size: size)
    }

    private mutating func member(
        _ path: String, type: Character, mode: UInt32, link: String = "", contents: [UInt8] = [], sizeField: Int? = nil,
        gnu: Bool = false, signed: Bool = false, base256Size: UInt64? = nil
    ) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(repeating: "0", count: max(0, width - 1 - String(value, radix: 8).count)) + String(value, radix: 8), at: offset, width: width - 1)
        }
        put(path, at: 0, width: 100)
        octal(Int(mode), at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(sizeField ?? contents.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        header[156] = type.asciiValue!
        put(link, at: 157, width: 100)
        if gnu {
            put("ustar  ", at: 257, width: 8)
            put("15303640704", at: 345, width: 12)  // an access time, where ustar keeps a prefix
        } else {
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
        }
        if let base256Size {
            for index in 124..<136 { header[index] = 0 }
            header[124] = 0x80
            for index in 0..<8 { header[135 - index] = UInt8(truncatingIfNeeded: base256Size >> (8 * UInt64(index))) }
        }
        put("        ", at: 148, width: 8)
        let sum = signed ? header.reduce(0) { $0 + Int(Int8(bitPattern: $1)) } : header.reduce(0) { $0 + Int($1) }
        octal(sum & 0o777777, at: 148, width: 7)
        bytes += header + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }
}

@Suite("The /bin/sh check: tar reading, layers, links and whiteouts")
struct ImageShellTests {
    /// The members of `archive`, fed `chunk` bytes at a time.
    static func entries(_ archive: [UInt8], chunk: Int = 4096) throws -> [TarEntry] {
        var reader = TarEntryReader()
        var entries: [TarEntry] = []
        var index = 0
        while index < archive.count, !reader.ended {
            let end = min(archive.count, index + chunk)
            try archive[index..<end].withUnsafeBytes { try reader.consume($0) { entries.append($0) } }
            index = end
        }
        try reader.finish()
        return entries
    }

    static func tree(_ layers: [TarBuilder]) throws -> ImageFileTree {
        var tree = ImageFileTree()
        for layer in layers { tree.apply(try entries(layer.archive)) }
        return tree
    }

    @Test("the reader gives each member's path, kind and mode, whatever the chunk size, with PAX and GNU long names")
    func readsMembers() throws {
        var tar = TarBuilder()
        tar.directory("./bin/")
        tar.file("./bin/busybox", mode: 0o755, contents: String(repeating: "x", count: 1500))
        tar.symlink("bin/sh", to: "busybox")
        tar.hardLink("bin/ash", to: "./bin/busybox")
        let long = "usr/lib/" + String(repeating: "d", count: 120) + "/tool"
        tar.paxFile(long)
        let gnu = "opt/" + String(repeating: "g", count: 130) + "/run"
        tar.gnuLongFile(gnu, mode: 0o644)
        tar.paxSizedFile("models/weights.bin", contents: String(repeating: "w", count: 1500))
        tar.file("after")
        let expected = [
            TarEntry(path: "bin", kind: .directory, mode: 0o755),
            TarEntry(path: "bin/busybox", kind: .file, mode: 0o755),
            TarEntry(path: "bin/sh", kind: .symbolicLink("busybox"), mode: 0o777),
            TarEntry(path: "bin/ash", kind: .hardLink("bin/busybox"), mode: 0o755),
            TarEntry(path: long, kind: .file, mode: 0o755),
            TarEntry(path: gnu, kind: .file, mode: 0o644),
            TarEntry(path: "models/weights.bin", kind: .file, mode: 0o755),
            TarEntry(path: "after", kind: .file, mode: 0o755),
        ]
        for chunk in [1, 7, 512, 513, 100_000] {
            #expect(try Self.entries(tar.archive, chunk: chunk) == expected, "chunk \(chunk)")
        }
    }

    @Test("a blob that is not tar, or ends inside a member, is an error, not an empty layer")
    func refusesWhatIsNotTar() throws {
        #expect(throws: TarError.self) { try Self.entries(Array(repeating: UInt8(ascii: "a"), count: 1024)) }
        var tar = TarBuilder()
        tar.file("bin/sh", contents: String(repeating: "x", count: 2000))
        #expect(throws: TarError.self) { try Self.entries(Array(tar.bytes.prefix(1024))) }
        // Writers that leave out the end blocks still give a readable archive.
        #expect(try Self.entries(tar.bytes).map(\.path) == ["bin/sh"])
    }

    @Test("GNU and pre-POSIX headers, signed checksums, '..' in names and hostile sizes are read as Go's archive/tar reads them")
    func readsOtherWriters() throws {
        var tar = TarBuilder()
        tar.gnuFile("usr/bin/dash")
        tar.v7Directory("etc")
        tar.signedChecksumFile("opt/caf\u{e9}")
        tar.file("usr/../bin/./sh")
        #expect(try Self.entries(tar.archive) == [
            TarEntry(path: "usr/bin/dash", kind: .file, mode: 0o755),
            TarEntry(path: "etc", kind: .directory, mode: 0o755),
            TarEntry(path: "opt/caf\u{e9}", kind: .file, mode: 0o755),
            TarEntry(path: "bin/sh", kind: .file, mode: 0o755),
        ])
        // Sizes past any real file are a corrupt or hostile header, not an arithmetic overflow.
        var huge = TarBuilder()
        huge.base256Sized("bin/sh", size: 0x7fff_ffff_ffff_ffff)
        #expect(throws: TarError("the tar header at byte 0 announces 9223372036854775807 bytes")) { try Self.entries(huge.archive) }
        var paxHuge = TarBuilder()
        paxHuge.paxSizedFile("bin/sh", contents: "", declaredSize: "9223372036854775807")
        #expect(throws: TarError("the tar header at byte 1024 announces 9223372036854775807 bytes")) { try Self.entries(paxHuge.archive) }
    }

    @Test("links: busybox's, the merged /usr of Debian and Ubuntu, absolute targets, '..', loops, files in the way")
    func resolvesLinks() throws {
        var busybox = TarBuilder()
        busybox.file("bin/busybox")
        busybox.symlink("bin/sh", to: "busybox")
        #expect(try Self.tree([busybox]).resolve("/bin/sh") == .file(path: "/bin/busybox", executable: true))

        var merged = TarBuilder()
        merged.symlink("bin", to: "usr/bin")
        merged.file("usr/bin/dash")
        merged.symlink("usr/bin/sh", to: "dash")
        #expect(try Self.tree([merged]).resolve("/bin/sh") == .file(path: "/usr/bin/dash", executable: true))

        var absolute = TarBuilder()
        absolute.symlink("bin/sh", to: "/bin/../bin/./bash")
        absolute.file("bin/bash")
        #expect(try Self.tree([absolute]).resolve("/bin/sh") == .file(path: "/bin/bash", executable: true))

        var loop = TarBuilder()
        loop.symlink("bin/sh", to: "sh2")
        loop.symlink("bin/sh2", to: "/bin/sh")
        #expect(try Self.tree([loop]).resolve("/bin/sh") == .tooManyLinks)

        var dangling = TarBuilder()
        dangling.symlink("bin/sh", to: "dash")
        #expect(try Self.tree([dangling]).resolve("/bin/sh") == .missing("/bin/dash"))

        var plain = TarBuilder()
        plain.file("bin/sh", mode: 0o644)
        plain.file("etc", mode: 0o644)
        #expect(try Self.tree([plain]).resolve("/bin/sh") == .file(path: "/bin/sh", executable: false))
        #expect(try Self.tree([plain]).resolve("/etc/passwd") == .missing("/etc/passwd"))

        var hard = TarBuilder()
        hard.file("bin/busybox", mode: 0o755)
        hard.hardLink("bin/sh", to: "bin/busybox", mode: 0)
        #expect(try Self.tree([hard]).resolve("/bin/sh") == .file(path: "/bin/sh", executable: true))
    }

    @Test("layers: an upper layer's whiteout and opaque folder remove from the layers below; a replaced folder hides its files")
    func laysLayers() throws {
        var base = TarBuilder()
        base.file("bin/busybox")
        base.symlink("bin/sh", to: "busybox")
        base.file("usr/bin/dash")

        var whiteout = TarBuilder()
        whiteout.file("bin/.wh.sh", mode: 0)
        #expect(try Self.tree([base, whiteout]).resolve("/bin/sh") == .missing("/bin/sh"))
        #expect(try Self.tree([base, whiteout]).resolve("/bin/busybox") == .file(path: "/bin/busybox", executable: true))

        var opaque = TarBuilder()
        opaque.directory("bin")
        opaque.file("bin/.wh..wh..opq", mode: 0)
        opaque.file("bin/tool")
        let emptied = try Self.tree([base, opaque])
        #expect(emptied.resolve("/bin/sh") == .missing("/bin/sh"))
        #expect(emptied.resolve("/bin/tool") == .file(path: "/bin/tool", executable: true))

        var folderGone = TarBuilder()
        folderGone.file(".wh.bin", mode: 0)
        #expect(try Self.tree([base, folderGone]).resolve("/bin/sh") == .missing("/bin"))

        var relinked = TarBuilder()
        relinked.symlink("bin", to: "usr/bin")
        relinked.symlink("usr/bin/sh", to: "dash")
        #expect(try Self.tree([base, relinked]).resolve("/bin/sh") == .file(path: "/usr/bin/dash", executable: true))

        var added = TarBuilder()
        added.file("bin/sh")
        #expect(try Self.tree([folderGone, added]).resolve("/bin/sh") == .file(path: "/bin/sh", executable: true))

        // A layer holding bin/sh alone (no bin/ member) over a lower bin -> usr/bin: the layer's
        // own bin folder stands in place of the link on the overlay.
        var linked = TarBuilder()
        linked.symlink("bin", to: "usr/bin")
        linked.directory("usr/bin")
        #expect(try Self.tree([linked, added]).resolve("/bin/sh") == .file(path: "/bin/sh", executable: true))

        // A folder replaced by a file, then by a folder again: the lower files do not come back.
        var toFile = TarBuilder()
        toFile.file("bin", mode: 0o644)
        var toFolder = TarBuilder()
        toFolder.directory("bin")
        #expect(try Self.tree([base, toFile, toFolder]).resolve("/bin/sh") == .missing("/bin/sh"))

        // A whiteout's folder, made by the runtime, stands in place of a lower link too.
        var linkedFull = TarBuilder()
        linkedFull.symlink("bin", to: "usr/bin")
        linkedFull.file("usr/bin/sh")
        var whiteoutBelowLink = TarBuilder()
        whiteoutBelowLink.file("bin/.wh.other", mode: 0)
        #expect(try Self.tree([linkedFull]).resolve("/bin/sh") == .file(path: "/usr/bin/sh", executable: true))
        #expect(try Self.tree([linkedFull, whiteoutBelowLink]).resolve("/bin/sh") == .missing("/bin/sh"))

        // A hard link to a symbolic link is that link.
        var hardToLink = TarBuilder()
        hardToLink.file("bin/busybox", mode: 0o755)
        hardToLink.symlink("bin/ash", to: "missing")
        hardToLink.hardLink("bin/sh", to: "bin/ash")
        #expect(try Self.tree([hardToLink]).resolve("/bin/sh") == .missing("/bin/missing"))
    }

    @Test("the decoder reads gzip layers in any chunking, stops at the gzip end, and names zstd and corrupt data")
    func decodesLayers() throws {
        var tar = TarBuilder()
        tar.file("bin/busybox", contents: String(repeating: "busybox ", count: 20_000))
        tar.symlink("bin/sh", to: "busybox")
        var plain = ByteBuffer(bytes: tar.archive)
        let gzip = try plain.compress(with: .gzip())
        for chunk in [1, 3, 1000, 1 << 20] {
            var decoder = LayerDecoder()
            var reader = TarEntryReader()
            var entries: [TarEntry] = []
            // Padding after the gzip stream, as some registries' blobs have.
            let blob = Array(gzip.readableBytesView) + [UInt8](repeating: 0, count: 700)
            var index = 0
            while index < blob.count {
                let end = min(blob.count, index + chunk)
                try decoder.feed(ByteBuffer(bytes: blob[index..<end])) { bytes in try reader.consume(bytes) { entries.append($0) } }
                index = end
            }
            try decoder.finish { bytes in try reader.consume(bytes) { entries.append($0) } }
            try reader.finish()
            #expect(entries.map(\.path) == ["bin/busybox", "bin/sh"], "chunk \(chunk)")
        }
        // Several gzip members (Go's reader reads them all; eStargz cuts members inside entries).
        var first = ByteBuffer(bytes: tar.archive.prefix(700))
        var second = ByteBuffer(bytes: tar.archive.dropFirst(700).prefix(20_000))
        var third = ByteBuffer(bytes: tar.archive.dropFirst(20_700))
        let members = try [first.compress(with: .gzip()), second.compress(with: .gzip()), third.compress(with: .gzip())]
        let blob = members.flatMap { Array($0.readableBytesView) } + [UInt8](repeating: 0, count: 33)
        for chunk in [1, 2, 4096] {
            var multi = LayerDecoder()
            var reader = TarEntryReader()
            var entries: [TarEntry] = []
            var index = 0
            while index < blob.count, !multi.isFinished {
                let end = min(blob.count, index + chunk)
                try multi.feed(ByteBuffer(bytes: blob[index..<end])) { bytes in try reader.consume(bytes) { entries.append($0) } }
                index = end
            }
            try reader.finish()
            #expect(entries.map(\.path) == ["bin/busybox", "bin/sh"], "chunk \(chunk)")
            #expect(reader.ended)
        }

        var decoder = LayerDecoder()
        #expect(throws: LayerDecoder.Failure.zstd) { try decoder.feed(ByteBuffer(bytes: [0x28, 0xb5, 0x2f, 0xfd, 0])) { _ in } }
        // Thousands of empty members are read in a loop, not a recursion.
        var empty = ByteBuffer()
        let emptyMember = Array(try empty.compress(with: .gzip()).readableBytesView)
        let many = Array([[UInt8]](repeating: emptyMember, count: 5000).joined()) + Array(gzip.readableBytesView)
        var manyDecoder = LayerDecoder()
        var manyReader = TarEntryReader()
        var manyEntries: [TarEntry] = []
        try manyDecoder.feed(ByteBuffer(bytes: many)) { bytes in try manyReader.consume(bytes) { manyEntries.append($0) } }
        #expect(manyEntries.map(\.path) == ["bin/busybox", "bin/sh"])
        // A blob cut inside a gzip member is not a whole layer.
        var cut = LayerDecoder()
        try cut.feed(ByteBuffer(bytes: gzip.readableBytesView.prefix(gzip.readableBytes / 2))) { _ in }
        #expect(throws: LayerDecoder.Failure.truncated) { try cut.finish { _ in } }
        var whole = LayerDecoder()
        try whole.feed(gzip) { _ in }
        try whole.finish { _ in }

        var corrupt = LayerDecoder()
        #expect(throws: LayerDecoder.Failure.corrupt) {
            try corrupt.feed(ByteBuffer(bytes: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + [UInt8](repeating: 0xff, count: 64))) { _ in }
        }
    }

    @Test("submit's review: a shell-less image refuses its tasks, naming the acceptance check when one asks; an unreadable one warns once")
    func reviewsWorkflows() async {
        let spec = WorkflowSpec(name: "w", tasks: [
            TaskSpec(slug: "ok", image: "good:1", command: .shell("run")),
            TaskSpec(slug: "bare", image: "scratch-tool:1", command: .shell("run")),
            TaskSpec(slug: "checked", image: "scratch-tool:1", command: .shell("run"), vast: VastTaskOptions(acceptanceCheck: "nvidia-smi")),
            TaskSpec(slug: "off", image: "private:1", command: .shell("run")),
            TaskSpec(slug: "off2", image: "private:1", command: .shell("run")),
        ])
        let asked = AskedImages()
        let review = await VastTaskCheck.shellProblems(spec, acceptanceCheck: nil) { image in
            await asked.add(image)
            switch image {
            case "good:1": return .present("/bin/sh → /bin/busybox")
            case "scratch-tool:1": return .absent("no /bin/sh across its 1 layer")
            default: return .unknown("private.example refused anonymous access")
            }
        }
        #expect(await asked.images == ["good:1", "scratch-tool:1", "private:1"])
        #expect(review.problems == [
            "tasks[1] (bare): image scratch-tool:1 has no usable shell (no /bin/sh across its 1 layer): vast mode runs every task under /bin/sh (its launch wrapper); use an image with /bin/sh",
            "tasks[2] (checked): image scratch-tool:1 has no usable shell (no /bin/sh across its 1 layer): it asks for an acceptance check (vast.acceptance_check), which runs under /bin/sh, as does vast mode's launch wrapper; use an image with /bin/sh",
        ])
        #expect(review.warnings == [
            "cannot tell whether image private:1 has /bin/sh, which vast mode needs (private.example refused anonymous access); queued anyway: off, off2",
        ])
        let global = await VastTaskCheck.shellProblems(
            WorkflowSpec(name: "w", tasks: [spec.tasks[1]]), acceptanceCheck: AcceptanceCheck(command: "nvidia-smi")
        ) { _ in .absent("no /bin/sh across its 1 layer") }
        #expect(global.problems.first?.contains("it asks for an acceptance check (vast_api.acceptance_check)") == true)
    }

    @Test("what a verdict says when /bin/sh is not a shell")
    func describesAbsence() {
        #expect(ImageShellProbe.describe(.missing("/bin/sh"), layers: 2) == "no /bin/sh across its 2 layers")
        #expect(ImageShellProbe.describe(.missing("/bin"), layers: 1) == "no /bin/sh across its 1 layer")
        #expect(ImageShellProbe.describe(.missing("/usr/bin/dash"), layers: 1) == "/bin/sh leads to /usr/bin/dash, which does not exist across its 1 layer")
        #expect(ImageShellProbe.describe(.file(path: "/bin/sh", executable: false), layers: 1) == "/bin/sh is not executable")
        #expect(ImageShellProbe.describe(.tooManyLinks, layers: 1) == "/bin/sh goes through more than 40 links")
    }
}

private actor AskedImages {
    var images: [String] = []
    func add(_ image: String) { images.append(image) }
}
