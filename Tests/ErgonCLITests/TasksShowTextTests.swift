import ErgonCore
import Foundation
import Testing

@testable import ErgonCLI

/// `ergon tasks show`: the attempts' lines, with the rental choice of each rented instance.
@Suite("tasks show text")
struct TasksShowTextTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    @Test("each attempt: provisioning time, price, cost, why it ended; each rental: offer, machine, rank, ranking, score, why")
    func attempts() {
        let task = UUID()
        var first = AttemptRecord(
            taskID: task, number: 1, agentID: "a", phase: .done, instanceID: "4242",
            outcome: .hostFailure(reason: "still provisioning after 10m"), claimedAt: Self.t0, endedAt: Self.t0 + 600,
            pricePerHour: 0.3, billedFrom: Self.t0)
        first.rental = RentalChoice(
            offerID: "1001", machineID: "11", gpuName: "RTX_4090", rank: 1, matched: 9, ranking: "price", score: 0.3)
        var second = AttemptRecord(
            taskID: task, number: 2, agentID: "a", phase: .done, instanceID: "4243", outcome: .exited(code: 0),
            claimedAt: Self.t0 + 600, startedAt: Self.t0 + 642, endedAt: Self.t0 + 1200, pricePerHour: 0.36,
            billedFrom: Self.t0 + 600)
        second.rental = RentalChoice(
            offerID: "1003", machineID: "13", gpuName: "RTX_4090", rank: 3, matched: 8, ranking: "price", score: 0.36,
            reason: "offers 1-2 were taken")
        let third = AttemptRecord(
            taskID: task, number: 3, agentID: "a", phase: .provisioning, instanceID: "4244", claimedAt: Self.t0 + 1200)
        let text = TasksCommand.Show.attemptsText([first, second, third], at: Self.t0 + 1300)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 10)
        #expect(lines[0] == "attempts:")
        #expect(lines[5].isEmpty)
        #expect(lines[6] == "rentals:")
        // Aligned: each column starts where its heading does.
        func column(_ line: String, _ text: String) -> Int? {
            line.range(of: text).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
        }
        #expect(column(lines[1], "PROVISIONED") == column(lines[2], "never ran"))
        #expect(column(lines[1], "PROVISIONED") == column(lines[3], "42s"))
        #expect(column(lines[1], "PROVISIONED") == column(lines[4], "still provisioning"))
        #expect(column(lines[1], "WHY IT ENDED") == column(lines[2], "host failure: still provisioning after 10m"))
        #expect(column(lines[1], "WHY IT ENDED") == column(lines[3], "exited with code 0"))
        #expect(lines[2].contains("0.300  $0.050"))
        #expect(lines[3].contains("0.360  $0.060"))
        #expect(lines[7] == "#  OFFER  MACHINE  GPU MODEL  RANK    RANKING  SCORE  WHY THIS OFFER")
        #expect(lines[8] == "1  1001   11       RTX_4090   1 of 9  price    0.300  first choice")
        #expect(lines[9] == "2  1003   13       RTX_4090   3 of 8  price    0.360  offers 1-2 were taken")
    }

    @Test("docker attempts have no rental: no rentals table")
    func noRental() {
        let attempt = AttemptRecord(
            taskID: UUID(), number: 1, agentID: "a", phase: .running, instanceID: "c0ffee", gpu: "0", claimedAt: Self.t0,
            startedAt: Self.t0 + 3, billedFrom: Self.t0)
        let text = TasksCommand.Show.attemptsText([attempt], at: Self.t0 + 10)
        #expect(!text.contains("rentals:"))
        #expect(text.contains("3s"))
    }
}
