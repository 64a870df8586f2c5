import Testing

@testable import ErgonVast

@Suite("Images whose registry gave no size")
struct UnsizedImagesTests {
    @Test("a failed lookup holds off the next for retryAfter, for that image only")
    func holdsOffForAWhile() {
        let record = UnsizedImages()
        let start = ContinuousClock.now
        #expect(record.shouldAsk("a:1", now: start))
        record.noteFailure("a:1", now: start)
        #expect(!record.shouldAsk("a:1", now: start + .seconds(599)))
        #expect(record.shouldAsk("b:1", now: start + .seconds(1)))
        #expect(record.shouldAsk("a:1", now: start + UnsizedImages.retryAfter))
        // Asked again: a new failure starts a new period.
        record.noteFailure("a:1", now: start + .seconds(700))
        #expect(!record.shouldAsk("a:1", now: start + .seconds(900)))
    }
}
