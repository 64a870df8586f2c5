/// An image's file system as its layers build it, one layer on top of the other, with the OCI
/// whiteouts (`.wh.NAME` removes NAME from the layers below, `.wh..wh..opq` empties its folder
/// of them), and the resolution of a path through its symbolic links as the kernel would.
struct ImageFileTree {
    enum Node: Equatable {
        case directory
        case file(mode: UInt32)
        case symbolicLink(String)
        case other
    }

    /// What a path names once its links are followed.
    enum Resolution: Equatable {
        /// A file, at `path` (absolute) after the links; `executable` when any execute bit is set.
        case file(path: String, executable: Bool)
        case directory(path: String)
        /// Nothing: `missing` is the first absolute path that does not exist.
        case missing(String)
        /// More than ``maximumLinks`` links, as the kernel's ELOOP.
        case tooManyLinks
        /// A device or FIFO.
        case other(path: String)
    }

    /// Linux follows at most 40 links while resolving one path.
    static let maximumLinks = 40

    /// Each path (without its leading `/`) and what it is.
    private(set) var nodes: [String: Node] = [:]

    /// Lays `entries` (one layer's members) over the tree: first its whiteouts remove from the
    /// layers below, then its members are added, with the folders they imply.
    mutating func apply(_ entries: [TarEntry]) {
        var removed: Set<String> = []
        var emptied: Set<String> = []
        var added: [TarEntry] = []
        var whiteouts: [String] = []
        for entry in entries {
            let (folder, name) = Self.split(entry.path)
            if name == ".wh..wh..opq" {
                emptied.insert(folder)
                whiteouts.append(entry.path)
            } else if name.hasPrefix(".wh.") {
                removed.insert(Self.join(folder, String(name.dropFirst(4))))
                whiteouts.append(entry.path)
            } else {
                added.append(entry)
            }
        }
        if !removed.isEmpty || !emptied.isEmpty {
            nodes = nodes.filter { path, _ in !Self.isRemoved(path, removed: removed, emptied: emptied) }
        }
        // What this layer itself set; a folder it implies hides what a lower layer had there,
        // also the folder of a whiteout (the runtime makes it to hold the whiteout).
        var own: Set<String> = []
        for whiteout in whiteouts { makeFolders(above: whiteout, own: &own) }
        // Folders this layer put something else in place of: what lower layers held under them
        // goes, in one pass at the end.
        var replaced: Set<String> = []
        for entry in added {
            let node: Node
            switch entry.kind {
            case .file: node = .file(mode: entry.mode)
            case .directory: node = .directory
            case .symbolicLink(let target): node = .symbolicLink(target)
            case .other: node = .other
            case .hardLink(let target):
                // A hard link is what it names (a link to a symbolic link is that link); its header
                // carries a file's mode.
                node = nodes[target] ?? .file(mode: entry.mode)
            }
            makeFolders(above: entry.path, own: &own)
            if case .directory? = nodes[entry.path], node != .directory { replaced.insert(entry.path) }
            nodes[entry.path] = node
            own.insert(entry.path)
        }
        if !replaced.isEmpty {
            nodes = nodes.filter { path, _ in own.contains(path) || !Self.isRemoved(path, removed: [], emptied: replaced) }
        }
    }

    /// Makes each folder above `path` a folder. A layer is unpacked into a folder of its own, so
    /// the folders its members sit in are real ones there, and on the overlay they stand in
    /// place of a lower layer's link or file at the same path (which holds nothing under it).
    private mutating func makeFolders(above path: String, own: inout Set<String>) {
        var folder = Self.split(path).folder
        while !folder.isEmpty {
            switch nodes[folder] {
            case .directory?:
                // The tree holds nothing under a non-folder, so the folders above are folders too.
                return
            case .some where own.contains(folder):
                // This layer's own link or file: the extraction would not make it a folder.
                return
            default:
                nodes[folder] = .directory
                own.insert(folder)
            }
            folder = Self.split(folder).folder
        }
    }

    /// Follows `path` (absolute) through the tree's links.
    func resolve(_ path: String) -> Resolution {
        var resolved: [Substring] = []
        var pending = Array(path.split(separator: "/").reversed())
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = (resolved + [component]).joined(separator: "/")
            switch nodes[candidate] {
            case nil:
                return .missing("/" + candidate)
            case .directory:
                resolved.append(component)
                if pending.isEmpty { return .directory(path: "/" + candidate) }
            case .symbolicLink(let target):
                links += 1
                if links > Self.maximumLinks { return .tooManyLinks }
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/").reversed())
                if target.isEmpty { return .missing("/" + candidate) }
            case .file(let mode):
                // A file in the middle of a path is ENOTDIR: nothing is there.
                guard pending.isEmpty else { return .missing("/" + candidate + "/" + pending.reversed().joined(separator: "/")) }
                return .file(path: "/" + candidate, executable: mode & 0o111 != 0)
            case .other:
                guard pending.isEmpty else { return .missing("/" + candidate + "/" + pending.reversed().joined(separator: "/")) }
                return .other(path: "/" + candidate)
            }
        }
        return .directory(path: "/" + resolved.joined(separator: "/"))
    }

    /// True when a whiteout removes `path`: it or a folder above it is removed, or a folder above it was emptied.
    private static func isRemoved(_ path: String, removed: Set<String>, emptied: Set<String>) -> Bool {
        if removed.contains(path) { return true }
        var folder = split(path).folder
        while true {
            if removed.contains(folder) || emptied.contains(folder) { return true }
            if folder.isEmpty { return false }
            folder = split(folder).folder
        }
    }

    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    private static func join(_ folder: String, _ name: String) -> String {
        folder.isEmpty ? name : folder + "/" + name
    }
}
