import Foundation
import NIOCore

/// What a request sends: nothing, bytes in memory, or a range of a file streamed from disk
/// (a log part is never read whole into memory).
public enum S3Body: Sendable {
    /// No body.
    case empty
    /// A small body held in memory.
    case bytes([UInt8])
    /// `length` bytes of the file at `path` from `offset`.
    case file(path: String, offset: Int64, length: Int64)

    /// The number of bytes sent.
    public var length: Int64 {
        switch self {
        case .empty: return 0
        case .bytes(let bytes): return Int64(bytes.count)
        case .file(_, _, let length): return length
        }
    }

    /// The SHA-256 of the body, a file read in chunks.
    func sha256() throws -> SigV4Signer.PayloadDigest {
        var hasher = SigV4Signer.PayloadHasher()
        switch self {
        case .empty: break
        case .bytes(let bytes): hasher.update(bytes)
        case .file(let path, let offset, let length):
            let reader = try FileRangeReader(path: path, offset: offset, length: length)
            while let chunk = try reader.next() {
                chunk.withUnsafeReadableBytes { hasher.update($0) }
            }
        }
        return hasher.finalize()
    }
}

/// Reads a range of a file in chunks with `pread`, failing when the file is shorter than promised
/// (a body must send exactly the length it announced).
final class FileRangeReader: @unchecked Sendable {
    /// The size of one chunk.
    static let chunkSize = 1 << 20
    let path: String
    private let fd: Int32
    private var position: Int64
    private let end: Int64

    init(path: String, offset: Int64, length: Int64) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileRangeError(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.path = path
        self.position = offset
        self.end = offset + length
    }

    deinit { close(fd) }

    /// The next chunk, nil at the end of the range.
    func next() throws -> ByteBuffer? {
        guard position < end else { return nil }
        let count = Int(min(Int64(Self.chunkSize), end - position))
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var done = 0
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(position) + off_t(done))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            return done
        }
        guard read == count else {
            throw FileRangeError(path: path, reason: "the file ends before byte \(end) (read \(read) of \(count) at \(position))")
        }
        position += Int64(count)
        return buffer
    }
}

/// A body file could not be read.
struct FileRangeError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}

/// The chunks of a file range, as an asynchronous sequence for AsyncHTTPClient's streamed body.
struct FileRangeChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: Result<FileRangeReader, Error>
        mutating func next() async throws -> ByteBuffer? { try reader.get().next() }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: Result { try FileRangeReader(path: path, offset: offset, length: length) })
    }
}
