/// One member of a layer's tar stream, as much of it as telling a path's kind needs.
struct TarEntry: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case file
        /// A hard link to the member named (a path in the same archive).
        case hardLink(String)
        case symbolicLink(String)
        case directory
        /// A device, FIFO or anything else that is not a file, link or folder.
        case other
    }

    /// The member's path without a leading `/` or `./` nor a trailing `/` (`usr/bin/dash`).
    var path: String
    var kind: Kind
    /// The permission bits (`0o755`).
    var mode: UInt32
}

/// Reads the members of a tar stream (ustar, GNU and PAX, as layers are written) from chunks as
/// they arrive, skipping the members' contents without keeping them.
///
/// Long names come from PAX `path`/`linkpath` records or GNU `L`/`K` members; a header whose
/// checksum is wrong stops the reading with ``TarError``, so a blob that is not a tar archive is
/// not mistaken for an empty one.
struct TarEntryReader {
    /// The largest PAX or GNU long-name member read (names are far shorter).
    static let maximumMetadataSize = 1 << 20
    /// The largest member size believed (1 PiB): more is a corrupt or hostile header.
    static let maximumMemberSize = 1 << 50

    /// What the bytes being read are.
    private enum Position {
        case header
        /// A member's contents and padding, skipped.
        case skipping(Int)
        /// A PAX (`x`) or GNU long name (`L`) / long link (`K`) member's contents, kept.
        case metadata(kind: UInt8, size: Int, padded: Int)
    }

    private var position = Position.header
    private var block: [UInt8] = []
    private var metadata: [UInt8] = []
    /// Overrides for the next member: PAX `path`/`linkpath`/`size` (files over 8 GiB), GNU long name and link.
    private var nextPath: String?
    private var nextLink: String?
    private var nextSize: Int?
    private var zeroBlocks = 0
    /// Bytes consumed so far, for error messages.
    private var offset = 0
    /// True once the archive's end (two zero blocks) was read.
    private(set) var ended = false

    /// Reads `bytes`, calling `emit` for each member whose header is complete.
    mutating func consume(_ bytes: UnsafeRawBufferPointer, emit: (TarEntry) throws -> Void) throws {
        var index = 0
        while index < bytes.count, !ended {
            switch position {
            case .skipping(let remaining):
                let count = min(remaining, bytes.count - index)
                index += count
                offset += count
                position = remaining == count ? .header : .skipping(remaining - count)
            case .metadata(let kind, let size, let padded):
                let count = min(padded - metadata.count, bytes.count - index)
                metadata.append(contentsOf: bytes[index..<(index + count)])
                index += count
                offset += count
                if metadata.count == padded {
                    try readMetadata(kind: kind, Array(metadata.prefix(size)))
                    metadata.removeAll(keepingCapacity: true)
                    position = .header
                }
            case .header:
                let count = min(512 - block.count, bytes.count - index)
                block.append(contentsOf: bytes[index..<(index + count)])
                index += count
                offset += count
                if block.count == 512 {
                    let header = block
                    block.removeAll(keepingCapacity: true)
                    if let entry = try readHeader(header) { try emit(entry) }
                }
            }
        }
    }

    /// Checks that the stream ended where an archive may: after its end blocks, or between members
    /// (some writers leave the end blocks out).
    func finish() throws {
        if ended { return }
        guard case .header = position, block.isEmpty else {
            throw TarError("the tar stream ends inside a member, at byte \(offset)")
        }
    }

    /// Reads one header block; returns the member it describes, or nil for metadata and end blocks.
    private mutating func readHeader(_ header: [UInt8]) throws -> TarEntry? {
        if header.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { ended = true }
            return nil
        }
        zeroBlocks = 0
        let headerStart = offset - 512
        guard let recorded = Self.octal(header[148..<156]) else {
            throw TarError("no tar header at byte \(headerStart) (the checksum field is not a number)")
        }
        // The checksum counts the checksum field itself as eight spaces; old writers summed signed bytes.
        let unsigned = header.enumerated().reduce(0) { sum, item in sum + ((148..<156).contains(item.offset) ? 32 : Int(item.element)) }
        let signed = header.enumerated().reduce(0) { sum, item in
            sum + ((148..<156).contains(item.offset) ? 32 : Int(Int8(bitPattern: item.element)))
        }
        guard recorded == unsigned || recorded == signed else {
            throw TarError("the tar header at byte \(headerStart) has a wrong checksum")
        }
        let type = header[156]
        let isMetadata = [UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K")].contains(type)
        // A PAX size belongs to the next member itself, past any GNU long-name member.
        let paxSize = isMetadata ? nil : nextSize
        if !isMetadata { nextSize = nil }
        guard let size = paxSize ?? Self.number(header[124..<136]), size >= 0 else {
            throw TarError("the tar header at byte \(headerStart) has no readable size")
        }
        guard size <= Self.maximumMemberSize else {
            throw TarError("the tar header at byte \(headerStart) announces \(size) bytes")
        }
        let padded = (size + 511) / 512 * 512
        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            guard size <= Self.maximumMetadataSize else {
                throw TarError("the tar header at byte \(headerStart) announces \(size) bytes of names")
            }
            position = padded == 0 ? .header : .metadata(kind: type, size: size, padded: padded)
            return nil
        case UInt8(ascii: "g"):
            // Global PAX records (comments, times) say nothing of paths here.
            position = padded == 0 ? .header : .skipping(padded)
            return nil
        default:
            break
        }
        var name = Self.text(header[0..<100])
        // POSIX ustar ("ustar\0") keeps a name prefix at 345; GNU ("ustar  \0") keeps times there.
        let isPOSIX = header[257..<263].elementsEqual("ustar\0".utf8)
        if isPOSIX, case let prefix = Self.text(header[345..<500]), !prefix.isEmpty {
            name = prefix + "/" + name
        }
        let rawName = nextPath ?? name
        let path = Self.normalized(rawName)
        let link = nextLink ?? Self.text(header[157..<257])
        nextPath = nil
        nextLink = nil
        let kind: TarEntry.Kind
        var hasContents = false
        switch type {
        case 0 where rawName.hasSuffix("/"):
            // Pre-POSIX archives mark folders by the name's trailing slash alone.
            kind = .directory
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
            kind = .file
            hasContents = true
        case UInt8(ascii: "1"): kind = .hardLink(Self.normalized(link))
        case UInt8(ascii: "2"): kind = .symbolicLink(link)
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "D"):
            // A GNU incremental folder: its contents list the names it held.
            kind = .directory
            hasContents = true
        case UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "6"): kind = .other
        default:
            // Unknown types (GNU sparse files among them) keep their contents.
            kind = .other
            hasContents = true
        }
        if hasContents, padded > 0 { position = .skipping(padded) }
        let mode = UInt32(truncatingIfNeeded: Self.octal(header[100..<108]) ?? 0) & 0o7777
        return path.isEmpty ? nil : TarEntry(path: path, kind: kind, mode: mode)
    }

    /// Reads a PAX record set (`"%d %s=%s\n"`, repeated) or a GNU long name or link.
    private mutating func readMetadata(kind: UInt8, _ bytes: [UInt8]) throws {
        if kind != UInt8(ascii: "x") {
            let value = Self.text(bytes[...])
            if kind == UInt8(ascii: "L") { nextPath = value } else { nextLink = value }
            return
        }
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)),
                  length > space - index + 1, index + length <= bytes.count, bytes[index + length - 1] == UInt8(ascii: "\n")
            else {
                throw TarError("a PAX header holds a malformed record")
            }
            let record = bytes[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
                let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
                if key == "path" { nextPath = value }
                if key == "linkpath" { nextLink = value }
                if key == "size" {
                    guard let size = Int(value), size >= 0 else { throw TarError("a PAX header gives the size \"\(value)\"") }
                    nextSize = size
                }
            }
            index += length
        }
    }

    /// A NUL-terminated field as text.
    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (spaces and NULs around it allowed); nil when it holds no number.
    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let digits = field.drop { $0 == 32 || $0 == 0 }.prefix { $0 >= 48 && $0 <= 55 }
        guard !digits.isEmpty else { return field.allSatisfy { $0 == 32 || $0 == 0 } ? 0 : nil }
        return digits.reduce(0) { $0 * 8 + Int($1 - 48) }
    }

    /// A numeric field: octal, or GNU's base-256 (the first byte's high bit set) for large sizes.
    static func number(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first, first & 0x80 != 0 else { return octal(field) }
        guard first & 0x40 == 0 else { return nil }  // negative
        var value = Int(first & 0x3f)
        for byte in field.dropFirst() {
            guard value <= Int.max >> 8 else { return nil }
            value = value << 8 | Int(byte)
        }
        return value
    }

    /// `path` cleaned as the runtime's extraction cleans it: no leading `/` or `./`, no repeated
    /// slashes or trailing `/`, `..` taken back (never above the root).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                _ = parts.popLast()
            } else {
                parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }
}

/// A layer that cannot be read as a tar archive.
struct TarError: Error, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
