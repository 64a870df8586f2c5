import ErgonCore
import ErgonTestSupport
import ErgonVast
import Foundation
import Testing
import VastSimulator

@Suite struct SimulatorLogTests {
    @Test func theResultURLAnswers404ThenTheTail() async throws {
        var options = SimulatorOptions.forTesting()
        options.logNotReadyCount = 3
        options.defaultProgram = SimulatedProgram(loadSeconds: 1, runSeconds: 100, lineInterval: 1)
        try await withVastSimulator(options) { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            sim.advance(by: 11)
            let (text, misses) = try await client.logs(id, tail: 3)
            #expect(misses == 3)
            #expect(text == "[sim] instance \(id) line 8\n[sim] instance \(id) line 9\n[sim] instance \(id) line 10\n")
            // Later reads overlap earlier ones: the tail moves on.
            sim.advance(by: 2)
            let (later, _) = try await client.logs(id, tail: 3)
            #expect(later.hasPrefix("[sim] instance \(id) line 10\n"))
            #expect(later.hasSuffix("line 12\n"))
        }
    }

    @Test func loadingInstancesHaveEmptyLogsAndDestroyedOnesNone() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest()
            #expect(try await client.logs(id).text == "")
            _ = try await client.delete("/api/v0/instances/\(id)/")
            let answer = try await client.put("/api/v0/instances/request_logs/\(id)/", ["tail": "10"])
            #expect(answer.status == 404)
        }
    }

    @Test func theLaunchWrapperEndsTheLogWithItsExitMarker() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let label = InstanceLabel(agentID: "agent-1", taskID: UUID(), attempt: 2)
            let wrapper = VastLaunchWrapper(argv: ["sh", "-c", "echo hi; exit 7"], workDir: "/data/current", label: label)
            let id = try await client.createCheapest([
                "label": .string(label.vastLabel), "onstart": .string(wrapper.onstart),
                "args": .array(wrapper.args.map(JSONValue.string)), "env": ["SIM_EXIT_CODE": "7", "SIM_RUN_SECONDS": "3"],
            ])
            sim.advance(by: 10)
            let (text, _) = try await client.logs(id)
            #expect(text.hasSuffix("\(ExitMarker.prefix(label: label))7\n"))
            #expect(ExitMarker.status(in: Array(text.utf8), label: label) == 7)
        }
    }

    @Test func aTestScriptsTheOutput() async throws {
        try await withVastSimulator { sim in
            let client = SimulatorTestClient(sim)
            let id = try await client.createCheapest([
                "env": ["SIM_OUTPUT": "hello\nworld\nbye", "SIM_RUN_SECONDS": "9", "SIM_LOAD_SECONDS": "0"],
            ])
            sim.advance(by: 0.5)
            #expect(try await client.logs(id).text == "hello\n")
            sim.advance(by: 4)
            #expect(try await client.logs(id).text == "hello\nworld\n")
            sim.advance(by: 10)
            #expect(try await client.logs(id).text == "hello\nworld\nbye\n")
            #expect(try await client.show(id)["actual_status"] == "exited")
        }
    }
}
