import ErgonCore
import Foundation
import Testing

extension QueueConformance {
    /// `pastRunTimes` returns how long the succeeding attempt of each completed task with the
    /// slug and image ran, across workflows, newest first; failed tasks, other images, other
    /// slugs and earlier attempts do not count.
    public static func pastRunTimes(_ make: TaskQueueFactory) async throws {
        let queue = try await make()
        /// Submits `spec` alone and runs one attempt per (start, seconds, outcome).
        func run(_ spec: TaskSpec, _ attempts: [(start: TimeInterval, seconds: TimeInterval, outcome: AttemptOutcome)]) async throws {
            var record = try #require(try await submit(queue, [spec], defaultMaxAttempts: 3)[spec.slug])
            for step in attempts {
                let started = t0 + step.start
                let held = try #require(try await queue.claim(taskID: record.id, agentID: "agent", gpu: nil, at: started))
                var attempt = held.attempt
                attempt.startedAt = started
                try await queue.updateAttempt(attempt)
                record = try await queue.finishAttempt(
                    taskID: record.id, attempt: attempt.number, outcome: step.outcome, at: started + step.seconds)
            }
        }
        let ocr = task("ocr")
        var otherImage = task("ocr")
        otherImage.image = "ghcr.io/teklia/ocr:2"
        try await run(ocr, [(0, 100, .exited(code: 0))])
        try await run(ocr, [(1000, 300, .exited(code: 0))])
        // A lost host first: only the attempt that completed the task counts.
        try await run(ocr, [(2000, 50, .systemError(reason: "host lost")), (2100, 200, .exited(code: 0))])
        try await run(ocr, [(3000, 40, .exited(code: 1))])
        try await run(otherImage, [(4000, 7, .exited(code: 0))])
        try await run(task("layout"), [(5000, 9, .exited(code: 0))])

        #expect(try await queue.pastRunTimes(slug: "ocr", image: "alpine:3", limit: 10) == [200, 300, 100])
        #expect(try await queue.pastRunTimes(slug: "ocr", image: "alpine:3", limit: 2) == [200, 300])
        #expect(try await queue.pastRunTimes(slug: "ocr", image: "ghcr.io/teklia/ocr:2", limit: 10) == [7])
        #expect(try await queue.pastRunTimes(slug: "missing", image: "alpine:3", limit: 10) == [])
    }
}
