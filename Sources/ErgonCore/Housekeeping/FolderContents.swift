import Foundation

/// The files under one folder, listed and removed for `ergon gc` (a task's logs in a file
/// store, its spool, its workspace). A folder or file already gone is no error, so a clean-up
/// cut short is finished by running it again.
public struct FolderContents: Sendable {
    /// The folder.
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Every regular file below the folder (symbolic links count as files of size 0, never
    /// followed); empty when the folder does not exist.
    public func files() throws -> [StoredObject] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        guard let enumerator = fm.enumerator(atPath: path) else {
            throw FolderError(description: "\(path): cannot list the folder")
        }
        var files: [StoredObject] = []
        while let relative = enumerator.nextObject() as? String {
            let full = path + "/" + relative
            guard let attributes = try? fm.attributesOfItem(atPath: full),
                attributes[.type] as? FileAttributeType != .typeDirectory
            else { continue }
            let size = attributes[.type] as? FileAttributeType == .typeSymbolicLink ? 0 : (attributes[.size] as? NSNumber)?.int64Value ?? 0
            files.append(StoredObject(key: full, size: size))
        }
        return files.sorted { $0.key < $1.key }
    }

    /// Removes every empty folder below the folder, deepest first, then the folder itself if
    /// that left it empty. Folders holding a file stay.
    public func removeEmptyFolders() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        var folders = [path]
        if let enumerator = fm.enumerator(atPath: path) {
            while let relative = enumerator.nextObject() as? String {
                let full = path + "/" + relative
                if (try? fm.attributesOfItem(atPath: full))?[.type] as? FileAttributeType == .typeDirectory {
                    folders.append(full)
                }
            }
        }
        for folder in folders.sorted(by: { $0.count > $1.count }) where rmdir(folder) != 0 {
            guard [ENOTEMPTY, EEXIST, ENOENT].contains(errno) else {
                throw FolderError(description: "\(folder): cannot remove: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Removes these files, then each folder that held one if it is left empty.
    public static func remove(_ files: [StoredObject]) throws {
        let fm = FileManager.default
        var folders = Set<String>()
        for file in files {
            if unlink(file.key) != 0, errno != ENOENT {
                throw FolderError(description: "\(file.key): cannot remove: \(String(cString: strerror(errno)))")
            }
            folders.insert((file.key as NSString).deletingLastPathComponent)
        }
        // Deepest first, so a parent is tried after its children.
        for folder in folders.sorted(by: { $0.count > $1.count }) {
            if (try? fm.contentsOfDirectory(atPath: folder))?.isEmpty == true { rmdir(folder) }
        }
    }
}

/// A folder could not be listed or removed; the message names the path.
public struct FolderError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
