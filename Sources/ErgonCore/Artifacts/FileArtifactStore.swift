import Foundation

/// Artifacts in a local directory (`artifacts.store: file:///…`, the default under `data_dir`):
/// `<root>/<workflow id>/<task id>/files/<name>` with `…/meta/<name>.json` beside it.
public struct FileArtifactStore: ArtifactStore {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var location: String { "file://\(root)" }

    struct Meta: Codable {
        var contentType: String
        var created: Date
        var updated: Date
    }

    func taskDirectory(_ owner: ArtifactOwner) -> String { root + "/" + owner.path }
    func filePath(_ owner: ArtifactOwner, _ name: ArtifactName) -> String { taskDirectory(owner) + "/files/" + name.value }
    func metaPath(_ owner: ArtifactOwner, _ name: ArtifactName) -> String { taskDirectory(owner) + "/meta/" + name.value + ".json" }

    public func list(_ owner: ArtifactOwner) async throws -> [Artifact] {
        let directory = taskDirectory(owner) + "/files"
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ArtifactStoreError(.unavailable, "\(directory): cannot list the artifacts: \(error.localizedDescription)")
        }
        var result: [Artifact] = []
        for text in names where !text.hasPrefix(".ergon-partial-") {
            guard let name = try? ArtifactName(text), let artifact = try read(owner, name) else { continue }
            result.append(artifact)
        }
        return result.sorted { $0.name < $1.name }
    }

    public func artifact(_ owner: ArtifactOwner, name: ArtifactName) async throws -> Artifact? {
        try read(owner, name)
    }

    func read(_ owner: ArtifactOwner, _ name: ArtifactName) throws -> Artifact? {
        let path = filePath(owner, name)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular
        else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        let meta = (try? Data(contentsOf: URL(fileURLWithPath: metaPath(owner, name))))
            .flatMap { try? Self.decoder.decode(Meta.self, from: $0) }
        return Artifact(
            name: name, size: size, contentType: meta?.contentType ?? ContentTypeGuess.forName(name.value),
            created: meta?.created ?? modified, updated: meta?.updated ?? modified)
    }

    @discardableResult
    public func store(_ owner: ArtifactOwner, name: ArtifactName, file: String, contentType: String) async throws -> Artifact {
        let fm = FileManager.default
        let files = taskDirectory(owner) + "/files"
        let metas = taskDirectory(owner) + "/meta"
        do {
            try fm.createDirectory(atPath: files, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: metas, withIntermediateDirectories: true)
            let now = Date()
            let previous = try read(owner, name)
            let partial = files + "/.ergon-partial-" + UUID().uuidString
            defer { try? fm.removeItem(atPath: partial) }
            try DurableFile.copy(from: file, to: partial)
            let meta = Meta(contentType: contentType, created: previous?.created ?? now, updated: now)
            try DurableFile.write(try Self.encoder.encode(meta), to: metaPath(owner, name))
            try DurableFile.rename(partial, to: filePath(owner, name))
        } catch let error as ArtifactStoreError {
            throw error
        } catch {
            throw ArtifactStoreError(.unavailable, "\(files): cannot store artifact \(name): \(error)")
        }
        guard let stored = try read(owner, name) else {
            throw ArtifactStoreError(.unavailable, "\(files): artifact \(name) vanished after it was stored")
        }
        return stored
    }

    public func fetch(_ owner: ArtifactOwner, name: ArtifactName, to destination: String) async throws {
        let source = filePath(owner, name)
        guard try read(owner, name) != nil else {
            throw ArtifactStoreError(.notFound, "task \(owner.taskID.uuidString.lowercased()) has no artifact \"\(name)\"")
        }
        let partial = destination + ".ergon-partial"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        do {
            try DurableFile.copy(from: source, to: partial)
            try DurableFile.rename(partial, to: destination)
        } catch {
            throw ArtifactStoreError(.unavailable, "copying artifact \(name) to \(destination) failed: \(error)")
        }
    }

    public func removeAll(_ owner: ArtifactOwner) async throws {
        let directory = taskDirectory(owner)
        guard FileManager.default.fileExists(atPath: directory) else { return }
        // Renamed first, so no reader ever sees half of the old set.
        let trash = root + "/.trash-" + UUID().uuidString
        do {
            try FileManager.default.moveItem(atPath: directory, toPath: trash)
            try FileManager.default.removeItem(atPath: trash)
        } catch {
            throw ArtifactStoreError(.unavailable, "\(directory): cannot remove the old artifacts: \(error.localizedDescription)")
        }
    }

    public func directDownloadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL? { nil }
    public func directUploadURL(_ owner: ArtifactOwner, name: ArtifactName, validFor: Duration) async throws -> URL? { nil }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()
}
