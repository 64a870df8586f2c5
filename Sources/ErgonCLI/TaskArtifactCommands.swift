import ArgumentParser
import ErgonCore
import Foundation

extension TasksCommand {
    /// `ergon tasks artifacts ID`: what files a task published, without downloading them.
    struct ArtifactList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "artifacts", abstract: "List a task's artifacts (the files of its latest attempt).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String
        @Flag(name: .long, help: "Print a JSON array of artifact objects.")
        var json = false

        func run() async throws {
            let config = try options.load()
            let task = try await TaskLookup.task(id, in: try await config.openQueue())
            let artifacts = try await mappingArtifactErrors {
                try await config.withArtifactStore { store in try await store.list(ArtifactOwner(task)) }
            }
            if json {
                try printJSON(artifacts.map(ArtifactJSON.init))
            } else if artifacts.isEmpty {
                print("task \(TaskLookup.label(task)) has no artifacts")
            } else {
                print(ArtifactTable.render(artifacts))
            }
        }
    }

    /// `ergon tasks artifact ID NAME`: downloads one artifact, never clobbering a file by accident.
    struct ArtifactDownload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "artifact", abstract: "Download one of a task's artifacts.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Task id or a unique prefix of it.")
        var id: String
        @Argument(help: "The artifact's name (see `ergon tasks artifacts ID`).")
        var name: String
        @Option(
            name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Where to write it (default: NAME here; - for standard output).", valueName: "file"))
        var output: String?
        @Flag(name: .long, help: "Replace FILE if it exists.")
        var force = false

        func run() async throws {
            // Checked before anything is opened: a typo should not cost a store round trip.
            let artifactName: ArtifactName
            do {
                artifactName = try ArtifactName(name)
            } catch {
                throw UserError(error.description)
            }
            let destination = try ArtifactDestination(output ?? artifactName.value, force: force)
            let config = try options.load()
            let task = try await TaskLookup.task(id, in: try await config.openQueue())
            let owner = ArtifactOwner(task)
            try await mappingArtifactErrors {
                try await config.withArtifactStore { store in
                    guard try await store.artifact(owner, name: artifactName) != nil else {
                        let names = try await store.list(owner).map(\.name.value)
                        let known = names.isEmpty ? "it has none" : "its artifacts: " + names.joined(separator: ", ")
                        throw UserError("task \(TaskLookup.label(task)) has no artifact \"\(artifactName)\"; \(known)")
                    }
                    try await destination.receive { path in try await store.fetch(owner, name: artifactName, to: path) }
                }
            }
            if case .file(let path, _) = destination {
                let note = "ergon: wrote artifact \(artifactName) of task \(TaskLookup.label(task)) to \(path)\n"
                FileHandle.standardError.write(Data(note.utf8))
            }
        }
    }
}

/// Reading the one task a command line names, and naming it back in messages.
enum TaskLookup {
    /// The task the id or prefix names; a missing or ambiguous one is a user error.
    static func task(_ text: String, in queue: any TaskQueue) async throws -> TaskRecord {
        try await mappingQueueErrors {
            let id = try await queue.resolveTaskID(text)
            guard let task = try await queue.task(id) else { throw TaskIDLookup.unknownID(id) }
            return task
        }
    }

    /// `slug (id)`: the slug is what people recognise, the id what they can paste.
    static func label(_ task: TaskRecord) -> String {
        "\(task.spec.slug) (\(task.id.uuidString.lowercased()))"
    }
}

/// Where `tasks artifact` puts the bytes. A file is checked up front, so a refusal comes
/// before any download, and is placed without replacing what appeared in the meantime.
enum ArtifactDestination {
    case standardOutput
    case file(path: String, force: Bool)

    init(_ text: String, force: Bool) throws {
        if text == "-" {
            self = .standardOutput
            return
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw UserError("\(text) is a folder; give a file name with -o") }
            if !force { throw UserError("\(text) already exists; pass --force to replace it, or -o to choose another file") }
        }
        let parent = (text as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw UserError("\(text): there is no folder \(parent) to write it in")
        }
        self = .file(path: text, force: force)
    }

    /// Lets `download` write a complete file beside the destination, then puts it in place.
    func receive(_ download: (String) async throws -> Void) async throws {
        switch self {
        case .standardOutput:
            let scratch = NSTemporaryDirectory() + "ergon-artifact-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try await download(scratch)
            try Self.copyToStandardOutput(scratch)
        case .file(let path, let force):
            // Same folder as the destination, so placing it is a rename, never a copy.
            let directory = (path as NSString).deletingLastPathComponent
            let scratch = (directory.isEmpty ? "" : directory + "/") + ".ergon-download-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try await download(scratch)
            try Self.place(scratch, at: path, force: force)
        }
    }

    /// Renames with `--force`; otherwise links, which fails rather than replace a file that
    /// appeared since the check in `init`.
    static func place(_ scratch: String, at path: String, force: Bool) throws {
        if force {
            guard rename(scratch, path) == 0 else { throw failure("cannot write \(path)") }
            return
        }
        if link(scratch, path) == 0 { return }
        let code = errno
        if code == EEXIST { throw UserError("\(path) already exists; pass --force to replace it, or -o to choose another file") }
        // Some file systems have no hard links: fall back to check-then-rename.
        guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP, !FileManager.default.fileExists(atPath: path),
            rename(scratch, path) == 0
        else { throw failure("cannot write \(path)", code: code) }
    }

    static func copyToStandardOutput(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw failure("cannot read the downloaded artifact \(path)") }
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            FileHandle.standardOutput.write(chunk)
        }
    }

    static func failure(_ what: String, code: Int32 = errno) -> EnvironmentError {
        EnvironmentError("\(what): \(String(cString: strerror(code)))")
    }
}

/// Runs `body`, turning artifact store errors into CLI errors: a missing artifact is the
/// user's to fix, an unreachable store is not.
func mappingArtifactErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ArtifactStoreError {
        switch error.kind {
        case .notFound: throw UserError(error.message)
        case .unavailable: throw EnvironmentError(error.message)
        }
    }
}
