import CompressNIO
import NIOCore

/// Turns a layer blob's bytes, as they arrive, into its tar stream: gzip layers (the usual
/// kind) through zlib, uncompressed ones as they are. The format is read from the first bytes,
/// not the media type, which registries and tools do not always set right.
struct LayerDecoder {
    enum Failure: Error, Equatable {
        /// A zstd layer (the probe has no zstd decoder).
        case zstd
        /// zlib refused the data.
        case corrupt
        /// The blob ends inside a gzip member.
        case truncated
    }

    private enum Format {
        case undetermined
        case plain
        case gzip(NIODecompressor)
        /// A gzip member ended: another may follow (as Go's gzip reader reads them, and eStargz
        /// layers have many), or padding; `carry` holds a first byte that came alone.
        case betweenMembers(NIODecompressor, carry: [UInt8])
        /// What follows the last gzip member is padding.
        case ended
    }

    /// True once the rest of the blob is known to be padding.
    var isFinished: Bool {
        if case .ended = format { return true }
        return false
    }

    private var format = Format.undetermined
    private var window = ByteBufferAllocator().buffer(capacity: 256 * 1024)
    /// The first bytes, held until there are enough to tell the format.
    private var head = ByteBuffer()

    /// Decodes `chunk`, passing the tar bytes it gives to `consume`.
    mutating func feed(_ chunk: ByteBuffer, _ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard case .undetermined = format else {
            var chunk = chunk
            try decode(&chunk, consume)
            return
        }
        var chunk = chunk
        head.writeBuffer(&chunk)
        // Four bytes tell the formats apart; they may come in pieces.
        guard head.readableBytes >= 4 else { return }
        format = try Self.format(startingWith: Array(head.readableBytesView.prefix(4)))
        var held = head
        head = ByteBuffer()
        try decode(&held, consume)
    }

    /// Ends the blob: passes on what a blob of fewer than four bytes held (a tar reader then
    /// finds it too short); throws `.truncated` when it ends inside a gzip member.
    mutating func finish(_ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch format {
        case .undetermined where head.readableBytes > 0:
            format = .plain
            var held = head
            head = ByteBuffer()
            try decode(&held, consume)
        case .gzip(let decompressor):
            // With no input left, zlib answers Z_STREAM_END only for a member that is complete.
            var nothing = ByteBufferAllocator().buffer(capacity: 1)
            window.clear()
            do {
                try decompressor.streamInflate(from: &nothing, to: &window)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw Failure.truncated
            } catch {
                throw Failure.corrupt
            }
            if window.readableBytes > 0 { try window.withUnsafeReadableBytes(consume) }
        default:
            break
        }
    }

    private static func format(startingWith bytes: [UInt8]) throws -> Format {
        if bytes[0] == 0x1f, bytes[1] == 0x8b {
            let decompressor = CompressionAlgorithm.gzip().decompressor
            do {
                try decompressor.startStream()
            } catch {
                throw Failure.corrupt
            }
            return .gzip(decompressor)
        }
        if bytes == [0x28, 0xb5, 0x2f, 0xfd] { throw Failure.zstd }
        return .plain
    }

    /// Decodes `chunk` whole, member after member.
    private mutating func decode(_ chunk: inout ByteBuffer, _ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            switch format {
            case .undetermined, .ended:
                return
            case .plain:
                try chunk.withUnsafeReadableBytes(consume)
                chunk.moveReaderIndex(forwardBy: chunk.readableBytes)
                return
            case .betweenMembers(let decompressor, let carry):
                let taken = Array(chunk.readableBytesView.prefix(2 - carry.count))
                let magic = carry + taken
                guard magic.count == 2 else {
                    format = .betweenMembers(decompressor, carry: magic)
                    chunk.moveReaderIndex(forwardBy: taken.count)
                    return
                }
                guard magic == [0x1f, 0x8b] else {
                    try? decompressor.finishStream()
                    format = .ended
                    return
                }
                do {
                    try decompressor.resetStream()
                } catch {
                    throw Failure.corrupt
                }
                format = .gzip(decompressor)
                if !carry.isEmpty {
                    // The member's first byte came at the end of the chunk before.
                    var first = ByteBuffer(bytes: carry)
                    _ = try inflate(&first, with: decompressor, consume)
                }
            case .gzip(let decompressor):
                guard try inflate(&chunk, with: decompressor, consume) else { return }
                // This member is over: see what follows it.
                format = .betweenMembers(decompressor, carry: [])
            }
        }
    }

    /// Inflates `chunk` until it is used up (false) or its member ends with bytes left (true).
    private mutating func inflate(
        _ chunk: inout ByteBuffer, with decompressor: NIODecompressor, _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        var full = false
        repeat {
            window.clear()
            let before = chunk.readableBytes
            full = false
            do {
                try chunk.decompressStream(to: &window, with: decompressor)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                full = true
            } catch {
                throw Failure.corrupt
            }
            if window.readableBytes > 0 { try window.withUnsafeReadableBytes(consume) }
            // zlib takes nothing more although bytes are left: the member is over.
            if !full, window.readableBytes == 0, chunk.readableBytes == before, before > 0 { return true }
        } while chunk.readableBytes > 0 || full
        return false
    }
}
