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
    /// Runs the wrapper as Vast would: `onstart` with `args`, output and errors in one pipe.
    /// Spawned with no blocked signal and default handlers, as a container's first process
    /// starts: a child inheriting the test runner's blocked SIGCHLD would wait forever in the
    /// wrapper's `wait` for the acceptance check.
    func run(_ wrapper: VastLaunchWrapper) throws -> (output: String, status: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = [wrapper.onstart] + wrapper.args
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, wrapper.onstart, &actions, &attributes, &cArgs, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO)
        }
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WEXITSTATUS for a normal exit, 128 + the signal otherwise (as a shell reports it).
        let exited = status & 0x7f == 0
        return (String(decoding: output, as: UTF8.self), exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
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

    @Test func aPassedAcceptanceCheckLetsTheCommandRun() throws {
        let check = AcceptanceCheck(command: "echo gpu ok", timeout: .seconds(5))
        let (output, status) = try run(VastLaunchWrapper(argv: ["sh", "-c", "echo task; exit 4"], workDir: nil, label: Self.label, acceptanceCheck: check))
        #expect(status == 4)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.prefix(4) == ["[ergon-wrapper] acceptance check: echo gpu ok", "gpu ok", AcceptanceMarker.passedLine(label: Self.label), "task"])
        #expect(ExitMarker.status(in: Array(output.utf8), label: Self.label) == 4)
        #expect(AcceptanceMarker.failureStatus(in: Array(output.utf8), label: Self.label) == nil)
    }

    @Test func aFailedAcceptanceCheckEndsTheWrapperBeforeTheCommand() throws {
        let check = AcceptanceCheck(command: "echo no device >&2; exit 3", timeout: .seconds(5))
        let (output, status) = try run(VastLaunchWrapper(argv: ["sh", "-c", "echo task"], workDir: nil, label: Self.label, acceptanceCheck: check))
        #expect(status == 97)
        #expect(!output.contains("task\n"))
        #expect(output.contains("no device\n"))
        #expect(AcceptanceMarker.failureStatus(in: Array(output.utf8), label: Self.label) == 3)
        // No exit marker: the command never ran.
        #expect(ExitMarker.status(in: Array(output.utf8), label: Self.label) == nil)
        // Another attempt's failure line is not this one's.
        let other = InstanceLabel(agentID: Self.label.agentID, taskID: Self.label.taskID, attempt: Self.label.attempt + 1)
        #expect(AcceptanceMarker.failureStatus(in: Array(output.utf8), label: other) == nil)
    }

    @Test func anAcceptanceCheckPastItsTimeoutIsStopped() throws {
        // `exec`: the watchdog stops the check's shell; on a host, the container's end takes
        // the rest of the check's processes with it, here a `sleep` child would hold the pipe.
        let check = AcceptanceCheck(command: "exec sleep 30", timeout: .seconds(1))
        let started = Date()
        let (output, status) = try run(VastLaunchWrapper(argv: ["sh", "-c", "echo task"], workDir: nil, label: Self.label, acceptanceCheck: check))
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(status == 97)
        #expect(output.contains("the acceptance check is still running after 1s: stopping it"))
        #expect(AcceptanceMarker.failureStatus(in: Array(output.utf8), label: Self.label) == 137)
        #expect(AcceptanceMarker.reason(status: 137, check: check) == "the acceptance check `exec sleep 30` did not pass within 1s (stopped)")
        #expect(AcceptanceMarker.reason(status: 2, check: nil) == "the acceptance check failed with status 2")
    }

    @Test func aTasksOwnAcceptanceCheckReplacesOrTurnsOffTheAgents() {
        let agent = AcceptanceCheck(command: "nvidia-smi", timeout: .seconds(30), maxRejections: 2)
        #expect(AcceptanceCheck.effective(agent: agent, task: nil) == agent)
        #expect(AcceptanceCheck.effective(agent: agent, task: VastTaskOptions(acceptanceCheck: "")) == nil)
        let own = AcceptanceCheck.effective(agent: agent, task: VastTaskOptions(acceptanceCheck: "python3 -c 'import torch'"))
        #expect(own == AcceptanceCheck(command: "python3 -c 'import torch'", timeout: .seconds(30), maxRejections: 2))
        #expect(AcceptanceCheck.effective(agent: nil, task: VastTaskOptions(acceptanceCheck: "nvidia-smi -L"))?.command == "nvidia-smi -L")
        #expect(AcceptanceCheck.effective(agent: nil, task: VastTaskOptions(diskGB: 30)) == nil)
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
