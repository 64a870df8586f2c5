import Foundation
import Testing

@testable import ErgonVast

@Suite struct JSONValueTests {
    @Test func roundTripsAndWritesIntegersWithoutFraction() throws {
        let value: JSONValue = ["a": 1, "b": 1.5, "c": ["x", true, nil]]
        #expect(value.jsonText == #"{"a":1,"b":1.5,"c":["x",true,null]}"#)
        #expect(try JSONValue.decode(value.encoded()) == value)
    }
}
