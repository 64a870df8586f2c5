import Hummingbird

/// A request body that must hold exactly `expected` bytes: it throws as soon as more arrive
/// and at the end when fewer did, so an upload is checked while it streams to disk.
struct ExactLengthBody<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let expected: Int64

    /// The body's length differs from the signed size.
    struct Mismatch: Error {
        let expected: Int64
        /// The bytes seen, or more than `expected` when the body was cut short of its end.
        let received: Int64
        let more: Bool
        var detail: String {
            more
                ? "the upload is larger than the \(expected) bytes its URL was signed for"
                : "the upload has \(received) bytes but its URL was signed for \(expected)"
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let expected: Int64
        var received: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else {
                guard received == expected else { throw Mismatch(expected: expected, received: received, more: false) }
                return nil
            }
            received += Int64(buffer.readableBytes)
            guard received <= expected else { throw Mismatch(expected: expected, received: received, more: true) }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), expected: expected)
    }
}
