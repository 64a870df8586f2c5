import Foundation
import Testing

/// `Scripts/install-agent` run into a temporary prefix, config and unit folder with the
/// debug binary (`--binary`): nothing outside the temporary folder is written, systemctl
/// is never run.
@Suite("Scripts/install-agent")
struct InstallAgentTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/install-agent").path

    /// The temporary layout of one installation.
    struct Layout {
        let dir: String
        var binary: String { dir + "/bin/ergon" }
        var config: String { dir + "/etc/ergon.yaml" }
        var envFile: String { dir + "/etc/ergon.env" }
        var units: String { dir + "/units" }

        init() throws { dir = try AgentHarness.temporaryDirectory() }

        /// Runs the script on this layout with `extra` options.
        func install(_ extra: [String] = []) throws -> ErgonBinary.Result {
            try ErgonBinary.run(
                executable: InstallAgentTests.script,
                ["--binary", ErgonBinary.path, "--prefix", dir, "--unit-dir", units, "--config", config, "--env-file", envFile]
                    + extra, environment: [:])
        }

        func unit(_ name: String) throws -> String { try String(contentsOfFile: units + "/" + name, encoding: .utf8) }
    }

    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue & 0o777
    }

    @Test("installs the binary 0755, a valid config and an env file 0600, and units that restart, drain and reap")
    func freshInstall() throws {
        let layout = try Layout()
        let result = try layout.install()
        try #require(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(try Self.mode(layout.binary) == 0o755)
        #expect(try Self.mode(layout.envFile) == 0o600)
        #expect(try Self.mode(layout.config) == 0o640)
        #expect(FileManager.default.contentsEqual(atPath: layout.binary, andPath: ErgonBinary.path))
        let template = try String(contentsOfFile: layout.config, encoding: .utf8)
        #expect(template.contains("${VAST_API_KEY}"), "secrets are referenced, never written")
        let check = try ErgonBinary.run(["config", "check", layout.config], environment: ["ERGON_ENV_FILE": layout.envFile])
        #expect(check.status == 0 && !check.stderr.contains("warning"), "the template loads as is: \(check.stderr)")

        let agent = try layout.unit("ergon-agent.service")
        for line in [
            "Type=exec", "ExecStart=\(layout.binary) agent --config \(layout.config)", "EnvironmentFile=\(layout.envFile)",
            "Environment=ERGON_ENV_FILE=\(layout.envFile)", "Restart=on-failure", "RestartPreventExitStatus=2",
            "KillSignal=SIGTERM", "KillMode=mixed",
            // The default provisioning timeout (30m), which bounds a launch in flight, plus 60 s.
            "TimeoutStopSec=1860", "WantedBy=multi-user.target",
        ] {
            #expect(agent.split(separator: "\n").contains(Substring(line)), "ergon-agent.service lacks \(line):\n\(agent)")
        }
        #expect(!agent.contains("User="), "root without --user")
        let reap = try layout.unit("ergon-reap.service")
        for line in ["Type=oneshot", "ExecStart=\(layout.binary) instances reap --config \(layout.config)", "EnvironmentFile=\(layout.envFile)"] {
            #expect(reap.split(separator: "\n").contains(Substring(line)), "ergon-reap.service lacks \(line):\n\(reap)")
        }
        let timer = try layout.unit("ergon-reap.timer")
        for line in ["OnCalendar=*:0/10", "Persistent=true", "WantedBy=timers.target"] {
            #expect(timer.split(separator: "\n").contains(Substring(line)), "ergon-reap.timer lacks \(line):\n\(timer)")
        }
        #expect(result.stdout.contains("systemctl daemon-reload && systemctl enable --now ergon-agent.service ergon-reap.timer"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: layout.units).sorted()
            == ["ergon-agent.service", "ergon-reap.service", "ergon-reap.timer"], "no staging folder left behind")
    }

    @Test("a second run keeps the config and the env file, tightens a world-readable env file, and takes the stop timeout from the config")
    func rerun() throws {
        let layout = try Layout()
        try #require(try layout.install().status == 0)
        // Vast mode, its key from the environment file: the stop timeout needs that file's
        // variables to load the config.
        let edited = "agent: {id: box}\nmode: vast\nvast_api: {api_key: \"${VAST_API_KEY}\", provisioning_timeout: 10m}\n"
        try edited.write(toFile: layout.config, atomically: true, encoding: .utf8)
        let secrets = "VAST_API_KEY=\"sk-test-123456\"\n"
        try secrets.write(toFile: layout.envFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: layout.envFile)

        let again = try layout.install()
        try #require(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(try String(contentsOfFile: layout.config, encoding: .utf8) == edited, "never overwritten")
        #expect(try String(contentsOfFile: layout.envFile, encoding: .utf8) == secrets, "never overwritten")
        #expect(try Self.mode(layout.envFile) == 0o600, "tightened")
        #expect(again.stdout.contains("tighten the environment file \(layout.envFile) from mode 644 to 0600"), "\(again.stdout)")
        #expect(!again.stdout.contains("sk-test-123456") && !again.stderr.contains("sk-test-123456"))
        // vast_api.provisioning_timeout (10m) plus 60 s.
        #expect(try layout.unit("ergon-agent.service").contains("\nTimeoutStopSec=660\n"))

        let third = try layout.install()
        #expect(third.status == 0)
        #expect(third.stdout.contains("ergon-agent.service is up to date"), "\(third.stdout)")
    }

    @Test("--dry-run prints the units and writes nothing")
    func dryRun() throws {
        let layout = try Layout()
        let result = try layout.install(["--dry-run", "--user", "ergon-never-created"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: layout.dir).isEmpty, "wrote nothing")
        #expect(result.stdout.contains("would: create the system user ergon-never-created"))
        #expect(result.stdout.contains("would: write \(layout.units)/ergon-agent.service:"))
        #expect(result.stdout.contains("    User=ergon-never-created"))
        #expect(result.stdout.contains("    TimeoutStopSec=1860"), "\(result.stdout)")
        #expect(result.stdout.contains("dry run: nothing was written"))
    }

    @Test("a config that does not load stops the install before any unit is written, naming the file")
    func badConfig() throws {
        let layout = try Layout()
        try FileManager.default.createDirectory(atPath: layout.dir + "/etc", withIntermediateDirectories: true)
        try "scheduler:\n  provisioning_timeot: 5m\n".write(toFile: layout.config, atomically: true, encoding: .utf8)
        let result = try layout.install()
        #expect(result.status == 1)
        #expect(result.stderr.contains("provisioning_timeot"), "\(result.stderr)")
        #expect(result.stderr.contains("cannot read the stop timeout from \(layout.config)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: layout.units))
    }

    @Test("bad options exit 2 naming the option")
    func badOptions() throws {
        let layout = try Layout()
        let missing = try layout.install(["--binary", layout.dir + "/nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--binary: \(layout.dir)/nope is not an executable file"), "\(missing.stderr)")
        let unknown = try layout.install(["--frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown option \"--frobnicate\""))
        let spaced = try layout.install(["--config", layout.dir + "/my config.yaml"])
        #expect(spaced.status == 2)
        #expect(spaced.stderr.contains("--config:"), "\(spaced.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: layout.dir).isEmpty)
    }
}
