import AsyncHTTPClient
import ErgonCore
import Foundation
import Testing

@testable import ErgonVast

@Suite("Vast backend pieces")
struct VastBackendUnitTests {
    static let label = InstanceLabel(agentID: "agent-1", taskID: UUID(), attempt: 1)

    @Test("actual_status maps to the reconciler's words", arguments: [
        (nil, nil, BackendInstance.Status.provisioning),
        ("loading", nil, .provisioning),
        ("created", "OCI runtime create failed: nvidia-container-cli: requirement error", .failedStart(message: "OCI runtime create failed: nvidia-container-cli: requirement error")),
        ("running", nil, .running),
        ("exited", nil, .ended(reason: "the container exited")),
        ("offline", nil, .lost(reason: "the host went offline")),
        ("unknown", nil, .lost(reason: "the host stopped reporting (state unknown)")),
        ("frozen", nil, .lost(reason: "the instance is frozen")),
    ] as [(String?, String?, BackendInstance.Status)])
    func statusMapping(actual: String?, message: String?, expected: BackendInstance.Status) {
        #expect(VastInstance(id: 1, actualStatus: actual, statusMsg: message).backendStatus == expected)
    }

    @Test func theStoppedTripleIsAnEndThatTheMarkerDecides() {
        let stopped = VastInstance(id: 1, actualStatus: "stopped", intendedStatus: "stopped", curState: "stopped", nextState: "stopped")
        #expect(stopped.backendStatus == .ended(reason: "the instance stopped without the agent asking"))
    }

    @Test func listedInstancesCarryTheirOwnerAndMachine() {
        let instance = VastInstance(id: 42, machineID: 7, label: Self.label.vastLabel, actualStatus: "running", dphTotal: 0.3)
        let listed = instance.backendInstance
        #expect(listed.id == "42")
        #expect(listed.label == Self.label)
        #expect(listed.machineID == "7")
        #expect(listed.pricePerHour == 0.3)
    }

    /// Runs the wrapper the way Vast would: `onstart` with `args`.
    func run(_ wrapper: VastLaunchWrapper) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrapper.onstart)
        process.arguments = wrapper.args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    @Test func theWrapperRunsTheArgvExactlyAndPrintsTheExitMarker() throws {
        let argv = ["/bin/sh", "-c", "printf '%s|' \"$0\" \"$1\"; exit 3", "it's", "a b"]
        let (output, status) = try run(VastLaunchWrapper(argv: argv, workDir: nil, label: Self.label))
        #expect(status == 3)
        #expect(output.hasPrefix("it's|a b|"))
        #expect(ExitMarker.status(in: Array(output.utf8), label: Self.label) == 3)
    }

    @Test func theWrapperRunsInTheWorkDirAndReportsAMissingOne() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wrap dir '\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ok = try run(VastLaunchWrapper(argv: ["pwd"], workDir: directory.path, label: Self.label))
        #expect(ok.output.hasPrefix(directory.path + "\n"))
        #expect(ExitMarker.status(in: Array(ok.output.utf8), label: Self.label) == 0)
        let missing = try run(VastLaunchWrapper(argv: ["pwd"], workDir: directory.path + "/nope", label: Self.label))
        #expect(ExitMarker.status(in: Array(missing.output.utf8), label: Self.label) == 125)
    }

    @Test func imageLoginGoesOnlyToTheImagesRegistry() throws {
        var settings = ErgonConfig.Vast()
        settings.registries = [.init(host: "ghcr.io", username: "bot", password: "tok"), .init(host: "index.docker.io", username: "hub", password: "h")]
        let backend = try VastBackend(
            client: VastClient(baseURL: URL(string: "http://127.0.0.1:1")!, apiKey: "k", httpClient: .shared),
            settings: settings, agentID: "a")
        #expect(backend.imageLogin(for: "ghcr.io/org/img:1") == "-u bot -p tok ghcr.io")
        #expect(backend.imageLogin(for: "teklia/worker:1") == "-u hub -p h index.docker.io")
        #expect(backend.imageLogin(for: "quay.io/x/y") == nil)
    }

    @Test func taskFiltersAndForcedTermsNarrowTheAgentsFilters() throws {
        let selection = try OfferSelection.make(
            agentFilters: "reliability>0.9 gpu_ram>=16", taskFilters: "reliability>0.95 gpu_name=RTX_4090",
            excludedMachines: ["12", "7"], maxDPH: 0.5, diskGB: 30)
        let body = selection.requestBody
        #expect(body["allocated_storage"] == 30)
        #expect(body["limit"] == 64)
        #expect(body["verified"] == ["eq": true])
        #expect(body["num_gpus"]?["eq"] != nil)
        #expect(body["rented"] == ["eq": false])
        #expect(body["gpu_name"] == ["eq": "RTX 4090"])
        #expect(body["machine_id"] == ["notin": [7, 12]])
        #expect(throws: OfferQueryError.self) {
            try OfferSelection.make(agentFilters: "num_gpus=2", maxDPH: nil, diskGB: 20)
        }
    }
}
