import Foundation
import Testing

@testable import ErgonCore

@Suite struct DecodedTextCacheTests {
    @Test func decodesEachTextOnceAndStartsOverWhenFull() throws {
        let cache = DecodedTextCache<Int>(capacity: 2)
        var decodes = 0
        let parse = { (text: String) throws -> Int in
            decodes += 1
            guard let value = Int(text) else { throw CocoaError(.coderReadCorrupt) }
            return value
        }
        #expect(try cache.value(for: "1", decode: parse) == 1)
        #expect(try cache.value(for: "1", decode: parse) == 1)
        #expect(decodes == 1)
        #expect(try cache.value(for: "2", decode: parse) == 2)
        #expect(cache.count == 2)
        #expect(try cache.value(for: "3", decode: parse) == 3)  // full: starts over with "3"
        #expect(cache.count == 1)
        #expect(decodes == 3)
        // A text that does not decode is never kept: it fails every time.
        #expect(throws: CocoaError.self) { try cache.value(for: "x", decode: parse) }
        #expect(throws: CocoaError.self) { try cache.value(for: "x", decode: parse) }
        #expect(decodes == 5)
    }
}
