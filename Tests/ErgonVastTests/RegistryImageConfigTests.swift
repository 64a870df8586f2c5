import AsyncHTTPClient
import ErgonCore
import ErgonTestSupport
import Foundation
import Synchronization
import Testing
import VastSimulator

@testable import ErgonVast

@Suite("Image references and Docker's argv rules")
struct ImageReferenceTests {
    @Test("references normalize as docker pull reads them", arguments: [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", nil),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", nil),
        ("teklia/worker", "docker.io", "teklia/worker", "latest", nil),
        ("docker.io/library/ubuntu:1", "docker.io", "library/ubuntu", "1", nil),
        ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", nil),
        ("index.docker.io/teklia/worker:2", "docker.io", "teklia/worker", "2", nil),
        ("ghcr.io/org/team/img:v1.2", "ghcr.io", "org/team/img", "v1.2", nil),
        ("localhost/img", "localhost", "img", "latest", nil),
        ("localhost:5000/img:3", "localhost:5000", "img", "3", nil),
        ("127.0.0.1:5000/ergon-test/entry:1", "127.0.0.1:5000", "ergon-test/entry", "1", nil),
        ("registry.example.org:8443/a/b", "registry.example.org:8443", "a/b", "latest", nil),
        ("img@sha256:" + String(repeating: "ab", count: 32), "docker.io", "library/img", nil, "sha256:" + String(repeating: "ab", count: 32)),
        ("ghcr.io/o/i:7@sha256:" + String(repeating: "0", count: 64), "ghcr.io", "o/i", "7", "sha256:" + String(repeating: "0", count: 64)),
    ] as [(String, String, String, String?, String?)])
    func parsing(text: String, registry: String, repository: String, tag: String?, digest: String?) throws {
        let reference = try ImageReference(parsing: text)
        #expect(reference == ImageReference(registry: registry, repository: repository, tag: tag, digest: digest))
        #expect(reference.manifestReference == digest ?? tag)
    }

    @Test("bad references are refused with the reason", arguments: [
        "", "Ubuntu", "org//img", "img:", "img:-x", "img@sha256:abc", "img@sha256:" + String(repeating: "G", count: 64), "/img", "img/",
    ])
    func badReferences(text: String) {
        #expect {
            try ImageReference(parsing: text)
        } throws: { error in
            error is ImageReferenceError && "\(error)".contains("invalid image reference \"\(text)\"")
        }
    }

    @Test func dockerHubIsReachedOnItsApiHostAndLoopbackRegistriesOverPlainHttp() throws {
        #expect(try ImageReference(parsing: "ubuntu").baseURL == "https://registry-1.docker.io")
        #expect(try ImageReference(parsing: "ghcr.io/o/i").baseURL == "https://ghcr.io")
        #expect(try ImageReference(parsing: "localhost:5000/i").baseURL == "http://localhost:5000")
        #expect(try ImageReference(parsing: "127.0.0.1:5000/i").baseURL == "http://127.0.0.1:5000")
        #expect(try ImageReference(parsing: "[::1]:5000/i").baseURL == "http://[::1]:5000")
        #expect(try ImageReference(parsing: "localhost.example.com/i").baseURL == "https://localhost.example.com")
        #expect(ImageReference.canonicalRegistry("https://index.docker.io/v1/") == "docker.io")
        #expect(ImageReference.canonicalRegistry("GHCR.io") == "ghcr.io")
    }

    @Test func challengesParseWithQuotedCommas() throws {
        let bearer = try #require(RegistryChallenge(
            header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#))
        #expect(bearer.scheme == "bearer")
        #expect(bearer.parameters == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:a/b:pull,push"])
        let basic = try #require(RegistryChallenge(header: #"Basic realm="ergon-test""#))
        #expect(basic.scheme == "basic" && basic.parameters == ["realm": "ergon-test"])
        #expect(RegistryChallenge(header: "") == nil)
    }

    @Test func anIndexGivesItsLinuxAmd64ManifestAndAConfigBlobItsLaunchConfig() throws {
        let index = #"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
             {"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64"}},
             {"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}
            """#
        guard case .index(let entries) = try RegistryManifest(body: Array(index.utf8), contentType: nil, describing: "x") else {
            Issue.record("not read as an index")
            return
        }
        #expect(try RegistryManifest.digest(in: entries, os: "linux", architecture: "amd64", describing: "x") == "sha256:amd")
        #expect {
            try RegistryManifest.digest(in: [entries[0]], os: "linux", architecture: "amd64", describing: "img")
        } throws: { "\($0)" == "img has no linux/amd64 image (it has linux/arm64), which Vast instances run" }
        let manifest = #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c"}}"#
        #expect(try RegistryManifest(body: Array(manifest.utf8), contentType: nil, describing: "x") == .image(configDigest: "sha256:c", layers: []))
        // The layers, base first; what a host downloads is their compressed sizes, summed, unknown when one has none.
        let layered = #"{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[{"digest":"sha256:a","size":3000000000},{"digest":"sha256:b","size":23}]}"#
        let layers = [RegistryManifest.Layer(digest: "sha256:a", size: 3_000_000_000), RegistryManifest.Layer(digest: "sha256:b", size: 23)]
        #expect(try RegistryManifest(body: Array(layered.utf8), contentType: nil, describing: "x") == .image(configDigest: "sha256:c", layers: layers))
        #expect(RegistryManifest.compressedBytes(of: layers) == 3_000_000_023)
        let unsized = #"{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[{"digest":"sha256:a","size":10},{"digest":"sha256:l"}]}"#
        guard case .image(_, let unsizedLayers) = try RegistryManifest(body: Array(unsized.utf8), contentType: nil, describing: "x") else {
            Issue.record("not read as an image manifest")
            return
        }
        #expect(RegistryManifest.compressedBytes(of: unsizedLayers) == nil)
        #expect(RegistryManifest.compressedBytes(of: []) == nil)
        let undigested = #"{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[{"size":10}]}"#
        #expect {
            try RegistryManifest(body: Array(undigested.utf8), contentType: nil, describing: "img")
        } throws: { "\($0)" == "img: a layer has no digest" }

        let blob = #"{"architecture":"amd64","config":{"Entrypoint":["/e"],"Cmd":null,"WorkingDir":"/w","Env":["A=b"]}}"#
        #expect(try ImageLaunchConfig(configBlob: Array(blob.utf8), describing: "x") == ImageLaunchConfig(entrypoint: ["/e"], cmd: [], workingDir: "/w"))
        let empty = #"{"architecture":"amd64","config":{"WorkingDir":""}}"#
        #expect(try ImageLaunchConfig(configBlob: Array(empty.utf8), describing: "x") == ImageLaunchConfig())
        #expect(throws: RegistryError.self) { try ImageLaunchConfig(configBlob: Array(#"{"config":{"Cmd":"sh"}}"#.utf8), describing: "x") }
    }

    static let image = ImageLaunchConfig(entrypoint: ["/entry", "e1"], cmd: ["c1", "c2"], workingDir: "/w")

    @Test("Docker's rules: a task's entrypoint drops the image's Cmd too", arguments: [
        (nil, nil, ["/entry", "e1", "c1", "c2"]),
        (nil, TaskCommand.exec(["t1"]), ["/entry", "e1", "t1"]),
        (["/mine"], nil, ["/mine"]),
        (["/mine"], TaskCommand.exec(["t1"]), ["/mine", "t1"]),
        ([], TaskCommand.shell("echo hi"), ["/bin/sh", "-c", "echo hi"]),
        ([], nil, []),
    ] as [([String]?, TaskCommand?, [String])])
    func dockerArgv(entrypoint: [String]?, command: TaskCommand?, expected: [String]) {
        let task = TaskSpec(slug: "t", image: "img", command: command, entrypoint: entrypoint)
        #expect(VastBackend.dockerArgv(task: task, image: entrypoint == nil ? Self.image : nil) == expected)
    }

    /// A count shared with escaping closures.
    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// A source that gives one answer and counts the questions.
    struct CountingSource: ImageConfigSource {
        let asked = Counter()
        let answer: @Sendable () throws -> ImageLaunchConfig?
        func configuration(of image: String) async throws -> ImageLaunchConfig? {
            asked.add()
            return try answer()
        }
    }

    static func backend(_ source: (any ImageConfigSource)?) throws -> VastBackend {
        let client = VastClient(baseURL: URL(string: "http://127.0.0.1:9")!, apiKey: "k", httpClient: HTTPClient.shared)
        return try VastBackend(client: client, settings: ErgonConfig.Vast(), agentID: "a", imageConfig: source)
    }

    @Test func theRegistryIsAskedOnlyWhenTheTaskSetsNoEntrypoint() async throws {
        let source = CountingSource { Self.image }
        let backend = try Self.backend(source)
        #expect(try await backend.argv(of: TaskSpec(slug: "t", image: "img", command: .exec(["x"]), entrypoint: [])) == ["x"])
        #expect(try await backend.argv(of: TaskSpec(slug: "t", image: "img", entrypoint: ["/e"])) == ["/e"])
        #expect(source.asked.value == 0)
        #expect(try await backend.argv(of: TaskSpec(slug: "t", image: "img")) == ["/entry", "e1", "c1", "c2"])
        #expect(source.asked.value == 1)
    }

    @Test func anUnreachableRegistryFailsTheLaunchWithTheImageTheErrorAndTheFix() async throws {
        let failing = try Self.backend(CountingSource { throw RegistryError(.unreachable, "ghcr.io/o/i:1: cannot reach https://ghcr.io: refused") })
        let task = TaskSpec(slug: "t", image: "ghcr.io/o/i:1")
        let error = try await #require(throws: BackendError.self) { try await failing.argv(of: task) }
        // A registry that cannot be reached may come back: the task is retried as a system error.
        #expect(error.kind == .unreachable)
        #expect(error.message.contains("entrypoint of ghcr.io/o/i:1"))
        #expect(error.message.contains("cannot reach https://ghcr.io: refused"))
        #expect(error.message.contains("set `entrypoint:` on the task ([] for none)"))

        let none = try await #require(throws: BackendError.self) { try await Self.backend(nil).argv(of: task) }
        #expect(none.kind == .imageUnavailable)
        #expect(none.message.contains("no registry lookup is configured"))
        // A missing image will not appear by retrying: the task ends in error.
        let missing = try Self.backend(CountingSource { throw RegistryError(.notFound, "ghcr.io/o/i:1: MANIFEST_UNKNOWN") })
        let gone = try await #require(throws: BackendError.self) { try await missing.argv(of: task) }
        #expect(gone.kind == .imageUnavailable)
        #expect(gone.message.contains("MANIFEST_UNKNOWN"))
        // Nothing to run at all is refused, as Docker refuses it.
        let empty = try await #require(throws: BackendError.self) {
            try await Self.backend(nil).argv(of: TaskSpec(slug: "t", image: "img", entrypoint: []))
        }
        #expect(empty.message.contains("nothing to run"))
    }

    @Test func theCacheAsksOnceForConcurrentLookupsAndForgetsFailures() async throws {
        let cache = ImageConfigCache(clock: ContinuousClock(), tagLifetime: .seconds(600))
        let reference = try ImageReference(parsing: "img:1")
        let loads = Counter()
        let results = try await withThrowingTaskGroup(of: ImageLaunchConfig.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await cache.value(for: reference) {
                        loads.add()
                        try await Task.sleep(for: .milliseconds(50))
                        return Self.image
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 100 && results.allSatisfy { $0 == Self.image })
        #expect(loads.value == 1)

        let other = try ImageReference(parsing: "img:2")
        await #expect(throws: RegistryError.self) {
            try await cache.value(for: other) { throw RegistryError(.unreachable, "down") }
        }
        #expect(try await cache.value(for: other) { Self.image } == Self.image)
    }

    @Test func aTagsAnswerExpiresAndADigestsDoesNot() async throws {
        let cache = ImageConfigCache(clock: ContinuousClock(), tagLifetime: .zero)
        let loads = Counter()
        let load: @Sendable () async throws -> ImageLaunchConfig = {
            loads.add()
            return Self.image
        }
        let tag = try ImageReference(parsing: "img:1")
        let digest = try ImageReference(parsing: "img@sha256:" + String(repeating: "1", count: 64))
        for _ in 0..<3 {
            _ = try await cache.value(for: tag, load: load)
            _ = try await cache.value(for: digest, load: load)
        }
        #expect(loads.value == 4)
    }
}

/// The registries `Scripts/lib/registry.sh` starts: an open one on 127.0.0.1:5000 holding
/// ``image``, and one asking for Basic credentials on 127.0.0.1:5001 over the same storage.
enum LocalRegistry {
    static let environment = ProcessInfo.processInfo.environment
    static let address = environment["ERGON_REGISTRY_ADDR"] ?? "127.0.0.1:5000"
    static let authAddress = environment["ERGON_REGISTRY_AUTH_ADDR"] ?? "127.0.0.1:5001"
    static let user = environment["ERGON_REGISTRY_AUTH_USER"] ?? "ergon"
    static let password = environment["ERGON_REGISTRY_AUTH_PASSWORD"] ?? "ergon-registry-test"
    /// Pushed by `ergon_registry_test_image`.
    static var image: String { "\(address)/ergon-test/entry:1" }
    static let launch = ImageLaunchConfig(entrypoint: ["/bin/echo", "from-entrypoint"], cmd: ["x"], workingDir: "/tmp")

    /// What a lookup of ``image`` gives: ``launch``, and the size of its layers as the
    /// registry's manifest lists them, read here with a plain GET and summed apart.
    static func expected() async throws -> ImageLaunchConfig {
        var request = HTTPClientRequest(url: "http://\(address)/v2/ergon-test/entry/manifests/1")
        request.headers.add(name: "Accept", value: "application/vnd.docker.distribution.manifest.v2+json")
        request.headers.add(name: "Accept", value: "application/vnd.oci.image.manifest.v1+json")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        let manifest = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let layers = try #require(manifest?["layers"] as? [[String: Any]])
        var config = launch
        config.compressedBytes = layers.reduce(Int64(0)) { $0 + Int64(($1["size"] as? Int) ?? 0) }
        #expect((config.compressedBytes ?? 0) > 0, "the test image has layers")
        return config
    }
    static let setupHint = "start them with `source Scripts/lib/registry.sh && ergon_registry_up && ergon_registry_test_image && ergon_registry_shell_images`"

    /// Why the registries cannot be used, or nil when both answer and hold the image.
    static func unavailability() async -> String? {
        func status(_ url: String) async -> Int? {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/vnd.docker.distribution.manifest.v2+json")
            return try? await Int(HTTPClient.shared.execute(request, timeout: .seconds(3)).status.code)
        }
        guard await status("http://\(address)/v2/") == 200 else { return "no open registry answers on http://\(address)/v2/" }
        guard await status("http://\(address)/v2/ergon-test/entry/manifests/1") == 200 else { return "the registry on \(address) has no \(image)" }
        for image in ["noshell", "lateshell"] where await status("http://\(address)/v2/ergon-test/\(image)/manifests/1") != 200 {
            return "the registry on \(address) has no ergon-test/\(image):1 (ergon_registry_shell_images pushes it)"
        }
        guard await status("http://\(authAddress)/v2/") == 401 else { return "no registry asking for credentials answers on http://\(authAddress)/v2/" }
        return nil
    }

    /// The registries are missing while `ERGON_REQUIRE_REGISTRY=1`.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// Throws when the registries are unusable and required; true when usable, false to skip.
    static func shouldRun() async throws -> Bool {
        guard let reason = await unavailability() else { return true }
        if environment["ERGON_REQUIRE_REGISTRY"] == "1" {
            throw Unavailable(description: "ERGON_REQUIRE_REGISTRY=1 but \(reason); \(setupHint)")
        }
        return false
    }

    /// Lends a source over its own `HTTPClient` configured as the agent's.
    static func withSource<T: Sendable>(
        registries: [ErgonConfig.RegistryAuth] = [], _ body: (RegistryImageConfig<ContinuousClock>) async throws -> T
    ) async throws -> T {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: VastClient.httpConfiguration)
        do {
            let result = try await body(RegistryImageConfig(registries: registries, httpClient: http, requestTimeout: .seconds(5), lookupTimeout: .seconds(15)))
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a test only when the local registries of `Scripts/lib/registry.sh` answer; with
    /// `ERGON_REQUIRE_REGISTRY=1` their absence fails the test instead.
    static var localRegistry: Self {
        .enabled(
            Comment(rawValue: "needs docker-registry on \(LocalRegistry.address) with \(LocalRegistry.image) and on "
                + "\(LocalRegistry.authAddress) with Basic auth: \(LocalRegistry.setupHint); set ERGON_REQUIRE_REGISTRY=1 to fail instead")
        ) {
            try await LocalRegistry.shouldRun()
        }
    }
}

@Suite("Image configurations from a real registry", .localRegistry)
struct RegistryImageConfigTests {
    @Test func aTagAndItsDigestGiveTheImagesEntrypointCmdAndWorkdir() async throws {
        try await LocalRegistry.withSource { source in
            let expected = try await LocalRegistry.expected()
            #expect(try await source.configuration(of: LocalRegistry.image) == expected)
            let localhost = LocalRegistry.image.replacingOccurrences(of: "127.0.0.1:", with: "localhost:")
            #expect(try await source.configuration(of: localhost) == expected)

            var request = HTTPClientRequest(url: "http://\(LocalRegistry.address)/v2/ergon-test/entry/manifests/1")
            request.method = .HEAD
            request.headers.add(name: "Accept", value: "application/vnd.docker.distribution.manifest.v2+json")
            let head = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            let digest = try #require(head.headers.first(name: "Docker-Content-Digest"))
            let pinned = "\(LocalRegistry.address)/ergon-test/entry@\(digest)"
            #expect(try await source.lookUp(try ImageReference(parsing: pinned)) == expected)
        }
    }

    @Test func aMissingTagOrRepositoryIsNotFoundWithTheRegistrysOwnCode() async throws {
        try await LocalRegistry.withSource { source in
            let error = try await #require(throws: RegistryError.self) {
                try await source.configuration(of: "\(LocalRegistry.address)/ergon-test/entry:nope")
            }
            #expect(error.kind == .notFound)
            #expect(error.message.contains("\(LocalRegistry.address)/ergon-test/entry:nope"))
            #expect(error.message.contains("MANIFEST_UNKNOWN"))
        }
    }

    @Test func aRegistryAskingForBasicCredentialsGetsThoseOfVastApiRegistries() async throws {
        let image = "\(LocalRegistry.authAddress)/ergon-test/entry:1"
        let good = ErgonConfig.RegistryAuth(host: LocalRegistry.authAddress, username: LocalRegistry.user, password: LocalRegistry.password)
        let config = try await LocalRegistry.withSource(registries: [good]) { source in
            try await source.configuration(of: image)
        }
        #expect(config == (try await LocalRegistry.expected()))
        try await LocalRegistry.withSource { source in
            let error = try await #require(throws: RegistryError.self) { try await source.configuration(of: image) }
            #expect(error.kind == .unauthorized)
            #expect(error.message.contains("add credentials for host \(LocalRegistry.authAddress) to vast_api.registries"))
        }
        let wrong = ErgonConfig.RegistryAuth(host: LocalRegistry.authAddress, username: LocalRegistry.user, password: "not-the-password-7731")
        try await LocalRegistry.withSource(registries: [wrong]) { source in
            let error = try await #require(throws: RegistryError.self) { try await source.configuration(of: image) }
            #expect(error.kind == .unauthorized)
            #expect(error.message.contains("refused the credentials vast_api.registries gives for it"))
            #expect(!error.message.contains("not-the-password-7731"))
        }
    }

    @Test func nothingListeningIsUnreachable() async throws {
        try await LocalRegistry.withSource { source in
            let error = try await #require(throws: RegistryError.self) { try await source.configuration(of: "127.0.0.1:9/img:1") }
            #expect(error.kind == .unreachable)
            #expect(error.message.hasPrefix("127.0.0.1:9/img:1: cannot reach http://127.0.0.1:9"))
        }
    }

    @Test("a task without an entrypoint runs the image's entrypoint and Cmd on a --docker simulator instance", .dockerEngine)
    func endToEnd() async throws {
        try await withVastSimulator(SimulatorDockerTests.options()) { sim in
            try await LocalRegistry.withSource { source in
                var settings = ErgonConfig.Vast()
                settings.url = sim.baseURL
                settings.apiKey = sim.apiKey
                let client = VastClient(baseURL: URL(string: sim.baseURL)!, apiKey: sim.apiKey, httpClient: source.http)
                let backend = try VastBackend(client: client, settings: settings, agentID: "rt", imageConfig: source)
                let simulator = SimulatorTestClient(sim)
                for (command, output) in [(nil, "from-entrypoint x\n"), (TaskCommand.exec(["y"]), "from-entrypoint y\n")] {
                    let spec = TaskSpec(slug: "t", image: LocalRegistry.image, command: command)
                    let workflow = WorkflowRecord(id: UUID(), name: "w", createdAt: Date())
                    let task = TaskRecord(
                        id: UUID(), workflowID: workflow.id, seq: 1, spec: spec, parentIDs: [], state: .running, attempt: 1,
                        maxAttempts: 1, createdAt: Date(), updatedAt: Date())
                    let label = InstanceLabel(agentID: "rt", taskID: task.id, attempt: 1)
                    let request = LaunchRequest(
                        task: task, attempt: 1, label: label, gpu: nil, environment: [:], dataDirectory: "/nonexistent", workflow: workflow)
                    let id = try await backend.launch(request) { _ in }.id
                    _ = try await SimulatorDockerTests.wait(simulator, try #require(Int(id))) { $0["actual_status"] == "exited" }
                    let text = try await simulator.logs(try #require(Int(id))).text
                    #expect(text.hasPrefix(output))
                    #expect(ExitMarker.status(in: Array(text.utf8), label: label) == 0)
                    try await backend.destroy(instanceID: id)
                }
            }
        }
    }
}

/// A registry speaking Docker's token authentication, in Python (distribution's own needs a JWT
/// signing setup): a Bearer challenge, a token realm asking for Basic credentials, a two-platform
/// OCI index, and a config blob behind a redirect to another origin that must not get the token.
enum TokenRegistry {
    static let user = "tok-user"
    static let password = "tok-secret-5512"
    static let script = #"""
        import base64, hashlib, json, os, signal, sys, threading
        # The test runner blocks signals its children inherit; also leave when the test closes stdin (or dies).
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse, parse_qs
        TOKEN = "tok-123"
        BASIC = "Basic " + base64.b64encode(b"tok-user:tok-secret-5512").decode()
        config = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Entrypoint": None, "Cmd": ["/bin/sh", "-c", "serve"], "WorkingDir": "/srv"}}).encode()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        image = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "b" * 64, "size": 734003200},
                       {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "c" * 64, "size": 1234}]}).encode()
        image_digest = "sha256:" + hashlib.sha256(image).hexdigest()
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": image_digest, "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
        # Layers for the /bin/sh check: a Debian-like tree in three gzip members (cut inside
        # entries, as eStargz does), behind a redirect; and a layer whose body stalls.
        import gzip, io, tarfile, time
        def layer_tar():
            out = io.BytesIO()
            with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
                def add(name, kind, target="", data=b"", mode=0o755):
                    info = tarfile.TarInfo(name)
                    info.type, info.linkname, info.mode, info.size = kind, target, mode, len(data)
                    tar.addfile(info, io.BytesIO(data))
                add("bin", tarfile.SYMTYPE, "usr/bin", mode=0o777)
                add("usr/", tarfile.DIRTYPE)
                add("usr/bin/", tarfile.DIRTYPE)
                add("usr/bin/dash", tarfile.REGTYPE, data=b"\x7fELF" + b"d" * 5000)
                add("usr/bin/sh", tarfile.SYMTYPE, "dash", mode=0o777)
            return out.getvalue()
        plain = layer_tar()
        multi = gzip.compress(plain[:700]) + gzip.compress(plain[700:3000]) + gzip.compress(plain[3000:])
        def image_manifest(layer):
            return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 1000}]}).encode()
        MULTI, STALL, DRIP = "sha256:" + "e" * 64, "sha256:" + "d" * 64, "sha256:" + "f" * 64
        counts = {}
        lock = threading.Lock()
        class Handler(BaseHTTPRequestHandler):
            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                port = self.server.server_port
                path = urlparse(self.path).path
                with lock:
                    counts[path] = counts.get(path, 0) + 1
                if path == "/counts":
                    return self.answer(200, json.dumps(counts).encode())
                if path == "/token":
                    query = parse_qs(urlparse(self.path).query)
                    if self.headers.get("Authorization") != BASIC:
                        return self.answer(401)
                    if query.get("service") != ["fake"] or query.get("scope") != ["repository:team/app:pull"]:
                        return self.answer(400)
                    return self.answer(200, json.dumps({"token": TOKEN}).encode())
                if path == "/storage/config":
                    return self.answer(400 if "Authorization" in self.headers else 200, config)
                if path == "/storage/multi":
                    return self.answer(400 if "Authorization" in self.headers else 200, multi)
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="fake",scope="repository:team/app:pull"' % port
                    return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', [("WWW-Authenticate", challenge)])
                if path == "/v2/team/app/manifests/2":
                    return self.answer(200, index, [("Content-Type", "application/vnd.oci.image.index.v1+json")])
                if path == "/v2/team/app/manifests/" + image_digest:
                    return self.answer(200, image, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
                if path in ("/v2/team/app/manifests/multi", "/v2/team/app/manifests/stall", "/v2/team/app/manifests/drip"):
                    layer = {"multi": MULTI, "stall": STALL, "drip": DRIP}[path.rsplit("/", 1)[1]]
                    return self.answer(200, image_manifest(layer), [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
                if path == "/v2/team/app/blobs/" + MULTI:
                    return self.answer(307, b"", [("Location", "http://localhost:%d/storage/multi" % port)])
                if path in ("/v2/team/app/blobs/" + STALL, "/v2/team/app/blobs/" + DRIP):
                    self.send_response(200)
                    self.send_header("Content-Length", "10000000")
                    self.end_headers()
                    try:
                        # The stalled layer starts as gzip; the trickling one as a plain tar, which
                        # the zeros that follow do not break before 412 of them came.
                        self.wfile.write(multi[:100] if path.endswith(STALL) else plain[:100])
                        self.wfile.flush()
                        if path.endswith(STALL):
                            time.sleep(60)
                        # A byte every half second: never idle, never done.
                        for _ in range(120):
                            time.sleep(0.5)
                            self.wfile.write(b"\0")
                            self.wfile.flush()
                    except OSError:
                        pass
                    return
                if path == "/v2/team/app/blobs/" + config_digest:
                    return self.answer(307, b"", [("Location", "http://localhost:%d/storage/config" % port)])
                return self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_port, flush=True)
        server.serve_forever()
        """#

    /// Runs the registry for the duration of `body`, which gets its `127.0.0.1:PORT`.
    static func withRunning<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.terminate()
            process.waitUntilExit()
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw LocalRegistry.Unavailable(description: "the Python token registry did not start") }
            line.append(chunk)
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return try await body("127.0.0.1:\(port)")
    }

    /// How many times each path was asked for.
    static func counts(_ address: String) async throws -> [String: Int] {
        let answer = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(address)/counts"), timeout: .seconds(5))
        let json = try JSONValue.decode(Data(try await answer.body.collect(upTo: 1 << 20).readableBytesView))
        return (json.objectValue ?? [:]).compactMapValues(\.intValue)
    }
}

@Suite("Token authentication against a registry that asks for it")
struct RegistryTokenAuthTests {
    @Test func aBearerChallengeIsAnsweredWithATokenAndTheAmd64ImageOfTheIndexIsRead() async throws {
        try await TokenRegistry.withRunning { address in
            let credentials = ErgonConfig.RegistryAuth(host: address, username: TokenRegistry.user, password: TokenRegistry.password)
            let image = "\(address)/team/app:2"
            try await LocalRegistry.withSource(registries: [credentials]) { source in
                let results = try await withThrowingTaskGroup(of: ImageLaunchConfig?.self) { group in
                    for _ in 0..<20 { group.addTask { try await source.configuration(of: image) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.count == 20)
                #expect(results.allSatisfy {
                    $0 == ImageLaunchConfig(entrypoint: [], cmd: ["/bin/sh", "-c", "serve"], workingDir: "/srv", compressedBytes: 734_004_434)
                })
            }
            let counts = try await TokenRegistry.counts(address)
            // One lookup for the twenty: a challenge, a token, then the index, the manifest, the blob.
            #expect(counts["/token"] == 1)
            #expect(counts["/v2/team/app/manifests/2"] == 2)
            #expect(counts["/storage/config"] == 1)
        }
    }

    @Test func aTokenServiceRefusingAnonymousOrWrongCredentialsSaysWhatToConfigure() async throws {
        try await TokenRegistry.withRunning { address in
            let image = "\(address)/team/app:2"
            try await LocalRegistry.withSource { source in
                let error = try await #require(throws: RegistryError.self) { try await source.configuration(of: image) }
                #expect(error.kind == .unauthorized)
                #expect(error.message == "\(image): the token service at 127.0.0.1 refused anonymous access; add credentials for host \(address) to vast_api.registries")
            }
            let wrong = ErgonConfig.RegistryAuth(host: address, username: TokenRegistry.user, password: "wrong-secret-9921")
            try await LocalRegistry.withSource(registries: [wrong]) { source in
                let error = try await #require(throws: RegistryError.self) { try await source.configuration(of: image) }
                #expect(error.kind == .unauthorized)
                #expect(error.message.contains("refused the credentials vast_api.registries gives for \(address)"))
                #expect(!error.message.contains("wrong-secret-9921"))
            }
        }
    }
}
