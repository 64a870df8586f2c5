import Foundation

/// Places each parent's artifacts in a task's `/data` folder before it starts (docker mode):
/// `<parent id>/<artifact>` and a `<parent slug>` link to it, as WORKER_CONTRACT.md lays out.
/// Each launch lays them out afresh, so a retried child sees its parents' latest artifacts.
public struct ParentArtifactLayout: Sendable {
    public let store: any ArtifactStore

    public init(store: any ArtifactStore) {
        self.store = store
    }

    /// Lays out `parents` in `dataDirectory` (the folder mounted at `/data`); returns how
    /// many files it placed.
    @discardableResult
    public func place(parents: [TaskRecord], in dataDirectory: String) async throws -> Int {
        let fm = FileManager.default
        var placed = 0
        for parent in parents {
            let id = parent.id.uuidString.lowercased()
            let folder = dataDirectory + "/" + id
            try? fm.removeItem(atPath: folder)
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for artifact in try await store.list(ArtifactOwner(parent)) {
                try await store.fetch(ArtifactOwner(parent), name: artifact.name, to: folder + "/" + artifact.name.value)
                placed += 1
            }
            let link = dataDirectory + "/" + parent.spec.slug
            if (try? fm.destinationOfSymbolicLink(atPath: link)) != id {
                // Only a link is replaced: never a folder's contents.
                if (try? fm.destinationOfSymbolicLink(atPath: link)) != nil { unlink(link) }
                // Relative, so it resolves the same inside the container.
                try fm.createSymbolicLink(atPath: link, withDestinationPath: id)
            }
        }
        return placed
    }
}
