import Foundation
import Testing

@testable import ErgonCore

@Suite struct LogReadPacerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    /// `mayRead` outside `#expect`, which cannot call a mutating method.
    func ask(_ pacer: inout LogReadPacer, _ task: UUID, running: Int, now: Date) -> Bool {
        pacer.mayRead(task, running: running, now: now)
    }

    @Test func withoutARateEachTaskWaitsOnlyItsInterval() {
        var pacer = LogReadPacer(ratePerSecond: nil, minimumInterval: 4, burst: 1)
        let task = UUID()
        #expect(ask(&pacer, task, running: 1000, now: start))
        pacer.read(task, at: start)
        #expect(!ask(&pacer, task, running: 1000, now: start + 3.9))
        #expect(ask(&pacer, task, running: 1000, now: start + 4))
        #expect(pacer.interval(running: 1000) == 4)
    }

    @Test("a task's interval stretches to its share of the rate", arguments: [
        (running: 1, expected: 4.0), (running: 20, expected: 4.0), (running: 100, expected: 20.0), (running: 1000, expected: 200.0),
    ])
    func intervalIsTheShareOfTheRate(running: Int, expected: Double) {
        let pacer = LogReadPacer(ratePerSecond: 5, minimumInterval: 4, burst: 25)
        #expect(pacer.interval(running: running) == expected)
    }

    @Test func readsTogetherStayWithinTheRate() {
        var pacer = LogReadPacer(ratePerSecond: 5, minimumInterval: 4, burst: 10)
        let tasks = (0..<1000).map { _ in UUID() }
        var reads = 0
        var readTasks = Set<UUID>()
        // A tick every second for 300 s, every task asking each tick, as the scheduler does.
        for second in 0..<300 {
            let now = start + Double(second)
            for task in tasks where pacer.mayRead(task, running: tasks.count, now: now) {
                pacer.read(task, at: now)
                reads += 1
                readTasks.insert(task)
            }
        }
        // The burst, then five a second.
        #expect(reads <= 10 + 5 * 300)
        #expect(reads >= 5 * 299)
        // Every task had its turn within its interval (200 s) plus the time the burst took.
        #expect(readTasks.count == tasks.count)
    }

    @Test func extraReadsAreChargedToTheRate() {
        var pacer = LogReadPacer(ratePerSecond: 1, minimumInterval: 0, burst: 2)
        let (a, b) = (UUID(), UUID())
        #expect(ask(&pacer, a, running: 2, now: start))
        pacer.read(a, at: start)
        pacer.charge(3)  // a's read outgrew its tail and took three longer ones: the bucket is at -2
        #expect(!ask(&pacer, b, running: 2, now: start + 2.5))
        #expect(ask(&pacer, b, running: 2, now: start + 3.5))
        var unpaced = LogReadPacer(ratePerSecond: nil, minimumInterval: 0, burst: 1)
        unpaced.charge(100)
        #expect(ask(&unpaced, b, running: 2, now: start))
    }

    @Test func aForgottenTaskIsDueAgain() {
        var pacer = LogReadPacer(ratePerSecond: 5, minimumInterval: 4, burst: 5)
        let task = UUID()
        #expect(ask(&pacer, task, running: 1, now: start))
        pacer.read(task, at: start)
        #expect(!ask(&pacer, task, running: 1, now: start + 1))
        pacer.forget(task)
        #expect(ask(&pacer, task, running: 1, now: start + 1))
    }
}
