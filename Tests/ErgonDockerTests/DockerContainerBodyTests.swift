import ErgonCore
import Foundation
import Testing

@testable import ErgonDocker

@Suite("Container create body")
struct DockerContainerBodyTests {
    static func json(_ body: DockerAPI.ContainerCreate) throws -> [String: Any] {
        let data = Data(try DockerEngineClient.encode(body))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func aGPUTaskRequestsExactlyItsDevice() throws {
        var spec = TaskSpec(slug: "train", image: "img", command: .exec(["python", "train.py"]))
        spec.gpu = true
        let request = try DockerFixtures.request(spec, agentID: "a1", gpu: "GPU-1234")
        let body = try Self.json(DockerBackend.containerBody(for: request, settings: DockerFixtures.settings()))
        let host = try #require(body["HostConfig"] as? [String: Any])
        let requests = try #require(host["DeviceRequests"] as? [[String: Any]])
        #expect(requests.count == 1)
        #expect(requests[0]["Driver"] as? String == "nvidia")
        #expect(requests[0]["DeviceIDs"] as? [String] == ["GPU-1234"])
        #expect(requests[0]["Capabilities"] as? [[String]] == [["gpu"]])
    }

    @Test func aTaskWithoutAGPUSendsNoDeviceRequest() throws {
        let request = try DockerFixtures.request(TaskSpec(slug: "cpu", image: "img"), agentID: "a1")
        let body = try Self.json(DockerBackend.containerBody(for: request, settings: DockerFixtures.settings()))
        let host = try #require(body["HostConfig"] as? [String: Any])
        #expect(host["DeviceRequests"] == nil)
        // No command and no entrypoint: the image's own are kept.
        #expect(body["Cmd"] == nil)
        #expect(body["Entrypoint"] == nil)
        #expect(body["WorkingDir"] == nil)
    }

    @Test func labelsEnvironmentMountsAndNetwork() throws {
        let spec = TaskSpec(
            slug: "step", image: "ergon-test/busybox:1", command: .shell("echo hi"), entrypoint: ["/bin/env"],
            env: ["A": "1"], workDir: "/work", volumes: [VolumeMount(name: "shared", dest: "/shared")])
        let request = try DockerFixtures.request(spec, agentID: "agent-7", attempt: 2)
        var settings = DockerFixtures.settings(network: "host")
        settings.volumes = ["/models:/models:ro"]
        let body = DockerBackend.containerBody(for: request, settings: settings)
        let workflow = request.workflow.id.uuidString.lowercased()
        #expect(body.labels[InstanceLabel.dockerAgentKey] == "agent-7")
        #expect(body.labels[InstanceLabel.dockerAttemptKey] == "2")
        #expect(body.labels[InstanceLabel.dockerTaskKey] == request.task.id.uuidString.lowercased())
        #expect(body.labels[InstanceLabel.dockerWorkflowKey] == workflow)
        #expect(InstanceLabel(dockerLabels: body.labels) == request.label)
        #expect(body.cmd == ["/bin/sh", "-c", "echo hi"])
        #expect(body.entrypoint == ["/bin/env"])
        #expect(body.workingDir == "/work")
        #expect(body.env.contains("A=1"))
        #expect(body.env.contains("PONOS_TASK=\(request.task.id.uuidString.lowercased())"))
        #expect(body.env.contains("PONOS_DATA=/data"))
        #expect(body.env == body.env.sorted())
        #expect(body.hostConfig.binds == ["\(request.dataDirectory):/data", "/models:/models:ro"])
        #expect(body.hostConfig.mounts == [DockerAPI.Mount(volume: "ergon-\(workflow.prefix(8))-shared", target: "/shared")])
        #expect(body.hostConfig.networkMode == "host")
    }

    @Test func theDefaultNetworkIsLeftToTheEngine() throws {
        let request = try DockerFixtures.request(TaskSpec(slug: "s", image: "img"), agentID: "a")
        let body = try Self.json(DockerBackend.containerBody(for: request, settings: DockerFixtures.settings(network: "default")))
        let host = try #require(body["HostConfig"] as? [String: Any])
        #expect(host["NetworkMode"] == nil)
    }

    @Test func anEmptyEntrypointIsSentAsOneEmptyString() throws {
        let request = try DockerFixtures.request(
            TaskSpec(slug: "s", image: "img", command: .exec(["/bin/echo", "x"]), entrypoint: []), agentID: "a")
        let body = try Self.json(DockerBackend.containerBody(for: request, settings: DockerFixtures.settings()))
        #expect(body["Entrypoint"] as? [String] == [""])
    }

    @Test func containerNamesAreValidAndUnique() throws {
        let request = try DockerFixtures.request(TaskSpec(slug: "my step/ü", image: "img"), agentID: "a", attempt: 3)
        let name = DockerBackend.containerName(for: request)
        #expect(name == "ergon-my-step---\(request.task.id.uuidString.lowercased().prefix(8))-3")
    }

    @Test(arguments: [
        ("busybox", "docker.io", "library/busybox", String?.some("latest"), String?.none),
        ("ergon-test/busybox:1", "docker.io", "ergon-test/busybox", "1", nil),
        ("localhost:5000/team/app:v2", "localhost:5000", "team/app", "v2", nil),
        ("ghcr.io/org/img", "ghcr.io", "org/img", "latest", nil),
        ("registry.example.org:5000/img@sha256:" + String(repeating: "ab", count: 32), "registry.example.org:5000", "img", nil,
         "sha256:" + String(repeating: "ab", count: 32)),
    ])
    func parsesImageReferences(reference: String, registry: String, repository: String, tag: String?, digest: String?) throws {
        let image = try ImageReference(parsing: reference)
        #expect(image.registry == registry)
        #expect(image.repository == repository)
        #expect(image.tag == tag)
        #expect(image.digest == digest)
    }

    @Test func registryCredentialsAreBase64URLJSON() throws {
        let credentials = ErgonConfig.RegistryAuth(host: "localhost:5000", username: "me", password: "s3cr3t?>>")
        let value = credentials.dockerHeaderValue
        #expect(!value.contains("+") && !value.contains("/"))
        let standard = value.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let decoded = try #require(Data(base64Encoded: standard))
        let object = try #require(try JSONSerialization.jsonObject(with: decoded) as? [String: String])
        #expect(object == ["username": "me", "password": "s3cr3t?>>", "serveraddress": "localhost:5000"])
        #expect(try ImageReference(parsing: "localhost:5000/app").isServed(by: "localhost:5000"))
        #expect(try ImageReference(parsing: "busybox").isServed(by: "docker.io"))
        #expect(try ImageReference(parsing: "busybox").isServed(by: "https://index.docker.io/v1/"))
        #expect(try !ImageReference(parsing: "busybox").isServed(by: "ghcr.io"))
    }

    @Test func pullErrorsAreReadFromTheProgressStream() {
        #expect(DockerEngineClient.pullError(in: Array(#"{"status":"Pulling fs layer"}"#.utf8)) == nil)
        #expect(
            DockerEngineClient.pullError(
                in: Array(#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}"#.utf8))
                == "manifest unknown")
        var lines = JSONLineSplitter()
        #expect(lines.append(Array("{\"a\":1}\n{\"b\"".utf8)).count == 1)
        #expect(lines.append(Array(":2}\n\n".utf8)) == [Array("{\"b\":2}".utf8)])
        #expect(lines.append(Array("{\"c\":3}".utf8)).isEmpty)
        #expect(lines.finish() == [Array("{\"c\":3}".utf8)])
    }

    @Test(arguments: [
        ("created", String?.none, Int?.none, BackendInstance.Status.provisioning),
        ("created", "OCI runtime create failed", 127, .failedStart(message: "OCI runtime create failed")),
        ("running", nil, nil, .running),
        ("paused", nil, nil, .running),
        ("restarting", nil, nil, .running),
        ("exited", nil, 3, .exited(code: 3)),
        ("exited", nil, 0, .exited(code: 0)),
    ])
    func mapsEngineStates(state: String, error: String?, exitCode: Int?, expected: BackendInstance.Status) throws {
        let details = try JSONDecoder().decode(
            DockerAPI.ContainerInspect.State.self,
            from: JSONSerialization.data(withJSONObject: ["Status": state, "Error": error ?? "", "ExitCode": exitCode ?? 0]))
        #expect(DockerBackend.status(state: state, details: details) == expected)
    }

    @Test(arguments: ["dead", "removing", "weird"])
    func mapsGoneStatesToLost(state: String) {
        guard case .lost = DockerBackend.status(state: state, details: nil) else {
            Issue.record("\(state) should be lost")
            return
        }
    }

    @Test func negotiatesTheLowerAPIVersion() {
        #expect(DockerAPIVersion("1.41") == DockerAPIVersion(major: 1, minor: 41))
        #expect(min(DockerAPIVersion("1.41")!, DockerEngineClient.maximumAPIVersion).description == "1.41")
        #expect(min(DockerAPIVersion("1.52")!, DockerEngineClient.maximumAPIVersion).description == "1.45")
        #expect(DockerAPIVersion("1.9")! < DockerAPIVersion("1.10")!)
        #expect(DockerAPIVersion("v1") == nil)
    }
}
