import Foundation
import Testing

@testable import ErgonCore

/// `../shared/examples/NAME` relative to the package root.
private func sharedExample(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/examples/\(name)").standardized.path
}

/// The error parsing `text` as `fileName` throws; records an issue when it loads.
private func workflowError(_ text: String, fileName: String = "wf.yaml") -> WorkflowError? {
    do {
        let spec = try WorkflowLoader.parse(text: text, fileName: fileName)
        Issue.record("expected an error, loaded \(spec)")
        return nil
    } catch {
        return error
    }
}

@Suite("Workflow loading: shared examples and Ergon's format")
struct WorkflowLoaderTests {
    @Test func theHTRExampleLoads() throws {
        let spec = try WorkflowLoader.load(path: sharedExample("htr-workflow.yaml"))
        #expect(spec.name == "htr-batch-2026-11")
        #expect(spec.tasks.map(\.slug) == ["init-elements", "htr", "export"])
        #expect(spec.volumes.isEmpty)

        let initElements = spec.tasks[0]
        #expect(initElements.image == "registry.example.org/workers/init-elements:1.4")
        #expect(initElements.command == .exec(["python", "-m", "init_elements", "--corpus", "letters-1890"]))
        #expect(initElements.timeoutSeconds == 1800)
        #expect(initElements.parents.isEmpty)
        #expect(!initElements.gpu)

        let htr = spec.tasks[1]
        #expect(htr.gpu)
        #expect(htr.parents == ["init-elements"])
        #expect(htr.env == ["BATCH_SIZE": "16"])
        #expect(htr.command == nil)
        #expect(htr.resources == [
            TaskResource(type: "S3", url: "s3://models/pylaia/letters-1890/v3.tar.zst", target: "/models/pylaia", unpack: true),
        ])
        #expect(htr.vast == VastTaskOptions(offerFilters: "gpu_ram>=16 cuda_max_good>=12.2", diskGB: 40))
        #expect(htr.timeoutSeconds == 21600)
        #expect(htr.maxAttempts == 3)

        let export = spec.tasks[2]
        #expect(export.parents == ["htr"])
        #expect(export.command == .shell("python -m export --format alto && ls -la /data/current"))
        #expect(export.command?.argv == ["/bin/sh", "-c", "python -m export --format alto && ls -la /data/current"])
        #expect(export.timeoutSeconds == nil)
        #expect(export.maxAttempts == nil)
        #expect(try WorkflowGraph(spec.tasks).order == ["init-elements", "htr", "export"])
    }

    @Test func everyTaskFieldIsRead() throws {
        let spec = try WorkflowLoader.parse(text: """
            name: all-fields
            volumes: [scratch]
            tasks:
              - slug: a.1_x
                image: alpine:3
                command: [echo, 5, true]
                entrypoint: /bin/tini
                env: {A: 1, B: true, C: 1.50, D: "", E: "${NOT_SUBSTITUTED}"}
                work_dir: /work
                gpu: yes
                timeout: 90
                max_attempts: 1
                priority: -3
                volumes: [{name: scratch, dest: /scratch}]
                resources:
                  - {type: http, url: "https://example.org/m.tar.gz", target: /models, sha256: \(String(repeating: "AB", count: 32))}
                  - {type: HF, url: "hf://org/model@v2/weights/model.bin", target: /hf, model: true}
                vast: {disk_gb: 12.5, acceptance_check: "nvidia-smi -L", expected_runtime: 2h, image_size_hint: 8GB}
              - slug: b
                image: alpine:3
                entrypoint: []
                vast: {acceptance_check: false}
                parents: [a.1_x]
            """, fileName: "wf.yaml")
        let a = spec.tasks[0]
        #expect(spec.volumes == ["scratch"])
        #expect(a.command == .exec(["echo", "5", "true"]))
        #expect(a.entrypoint == ["/bin/tini"])
        #expect(a.env == ["A": "1", "B": "true", "C": "1.50", "D": "", "E": "${NOT_SUBSTITUTED}"])
        #expect(a.workDir == "/work")
        #expect(a.gpu)
        #expect(a.timeoutSeconds == 90)
        #expect(a.maxAttempts == 1)
        #expect(a.priority == -3)
        #expect(a.volumes == [VolumeMount(name: "scratch", dest: "/scratch")])
        #expect(a.resources == [
            TaskResource(type: "HTTP", url: "https://example.org/m.tar.gz", target: "/models",
                         sha256: String(repeating: "ab", count: 32)),
            TaskResource(type: "HF", url: "hf://org/model@v2/weights/model.bin", target: "/hf", model: true),
        ])
        #expect(a.vast == VastTaskOptions(
            offerFilters: nil, diskGB: 12.5, acceptanceCheck: "nvidia-smi -L", expectedRuntimeSeconds: 7200, imageSizeHint: 8_000_000_000))
        #expect(spec.tasks[1].vast == VastTaskOptions(acceptanceCheck: ""))
        #expect(spec.tasks[1].entrypoint == [])
        #expect(spec.tasks[1].parents == ["a.1_x"])
        #expect(spec.tasks[1].priority == 0)
    }

    @Test func jsonWorkflowsWithTabsLoad() throws {
        let json = "{\n\t\"name\": \"j\",\n\t\"tasks\": [\n\t\t{\"slug\": \"a\", \"image\": \"alpine\", \"command\": \"echo \\\"hi\\\"\", \"gpu\": false}\n\t]\n}"
        let spec = try WorkflowLoader.parse(text: json, fileName: "wf.json")
        #expect(spec.tasks[0].command == .shell("echo \"hi\""))
    }

    @Test func aSlugFromAMergeKeyNamesItsTask() throws {
        let error = try #require(workflowError("""
            name: merged
            tasks:
              - <<: {slug: a}
                image: alpine
                timeout: never
            """))
        #expect(error.description.hasPrefix("wf.yaml: task \"a\": timeout: invalid duration \"never\""))
    }

    @Test func mergeKeysShareTaskSettings() throws {
        let spec = try WorkflowLoader.parse(text: """
            name: merged
            tasks:
              - &base {slug: a, image: "worker:1", env: {MODE: fast}, timeout: 1m}
              - <<: *base
                slug: b
                parents: [a]
            """, fileName: "wf.yaml")
        #expect(spec.tasks[1].image == "worker:1")
        #expect(spec.tasks[1].env == ["MODE": "fast"])
        #expect(spec.tasks[1].timeoutSeconds == 60)
        #expect(spec.tasks[1].slug == "b")
    }

    @Test func missingFileIsNamed() {
        let path = "/nonexistent/\(UUID().uuidString).yaml"
        #expect(throws: WorkflowError(kind: .noSuchFile, file: path, problem: "no such file")) {
            try WorkflowLoader.load(path: path)
        }
        #expect(WorkflowError(kind: .noSuchFile, file: path, problem: "no such file").description == "\(path): no such file")
    }

    /// Two valid tasks, `a` and `b`, for error rows to extend.
    private static let head = "name: w\nvolumes: [cache]\ntasks:\n  - {slug: a, image: alpine}\n"

    /// One row per error class: the workflow text, the kind, the task named, and the whole message.
    static let errorCases: [(String, WorkflowError.Kind, String?, String)] = [
        (head + "  - {slug: a, image: alpine}", .duplicateSlug, "a",
         "wf.yaml: task \"a\": duplicate slug (another task already uses it; slugs must be unique in a workflow)"),
        (head + "  - {slug: b, image: alpine, parents: [c]}", .unknownParent, "b",
         "wf.yaml: task \"b\": parents: unknown parent \"c\" (no task of this workflow has that slug)"),
        (head + "  - {slug: export, image: alpine, parents: [export-data, b]}\n  - {slug: export_data, image: alpine}",
         .unknownParent, "export", "wf.yaml: task \"export\": parents: unknown parent \"export-data\" (did you mean \"export_data\"?)"),
        (head + "  - {slug: b, image: alpine, parents: [c]}\n  - {slug: c, image: alpine, parents: [b]}", .cycle, "c",
         "wf.yaml: task \"c\": parents: parents form a cycle: c → b → c (no task of the cycle could ever start)"),
        (head + "  - {slug: b, image: alpine, parents: [b]}", .cycle, "b", "wf.yaml: task \"b\": parents: lists itself as a parent"),
        (head + "  - {slug: b, command: echo}", .missingField, "b", "wf.yaml: task \"b\": image: missing (the container image to run)"),
        (head + "  - {slug: b, image: \"\"}", .invalidValue, "b",
         "wf.yaml: task \"b\": image: is empty (expected an image reference such as ubuntu:24.04)"),
        (head + "  - {slug: b, image: alpine, command: \"  \"}", .invalidValue, "b",
         "wf.yaml: task \"b\": command: is empty (leave command out to run the image's own command)"),
        (head + "  - {slug: b, image: alpine, command: []}", .invalidValue, "b",
         "wf.yaml: task \"b\": command: is empty (leave command out to run the image's own command)"),
        (head + "  - {slug: b, image: alpine, command: }", .invalidValue, "b",
         "wf.yaml: task \"b\": command: is empty (leave command out to run the image's own command)"),
        (head + "  - {slug: b, image: alpine, command: {run: x}}", .wrongType, "b",
         "wf.yaml: task \"b\": command: expected a string (run through a shell) or a list (exec form), got a mapping"),
        (head + "  - {slug: b, image: alpine, timeout: soon}", .invalidValue, "b",
         "wf.yaml: task \"b\": timeout: invalid duration \"soon\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        (head + "  - {slug: b, image: alpine, timeout: 0}", .invalidValue, "b",
         "wf.yaml: task \"b\": timeout: must be longer than zero, got \"0\" (expected a number of seconds or a duration like 90s, 10m, 2h, 1d or 1h30m)"),
        (head + "  - {slug: b, image: alpine, comand: ls}", .unknownKey, "b",
         "wf.yaml: task \"b\": comand: unknown key (did you mean \"command\"?)"),
        (head + "  - {slug: b, image: alpine, volumes: [{name: cahce, dest: /cache}]}", .undeclaredVolume, "b",
         "wf.yaml: task \"b\": volumes[0].name: volume \"cahce\" is not declared (did you mean \"cache\"? declare it in the workflow's volumes list)"),
        (head + "  - {slug: b, image: alpine, volumes: [{name: cache, dest: /data/x}]}", .invalidValue, "b",
         "wf.yaml: task \"b\": volumes[0].dest: \"/data/x\" is inside /data, where Ergon mounts the task's data directory (choose another path)"),
        (head + "  - {slug: b, image: alpine, resources: [{type: FTP, url: \"ftp://x/y\", target: /m}]}", .invalidValue, "b",
         "wf.yaml: task \"b\": resources[0].type: unknown resource type \"FTP\" (expected one of: S3, HTTP, HF)"),
        (head + "  - {slug: b, image: alpine, resources: [{type: S3, url: \"https://x/y\", target: /m}]}", .invalidValue, "b",
         "wf.yaml: task \"b\": resources[0].url: a S3 resource needs a s3:// URL such as s3://bucket/path, got \"https://x/y\""),
        (head + "  - {slug: b, image: alpine, resources: [{type: HTTP, url: \"\", target: /m}]}", .invalidValue, "b",
         "wf.yaml: task \"b\": resources[0].url: is empty (expected a URL such as https://example.org/model.tar.gz)"),
        (head + "  - {slug: b, image: alpine, resources: [{type: HTTP, url: \"https://x/y\", target: models}]}", .invalidValue, "b",
         "wf.yaml: task \"b\": resources[0].target: \"models\" is not an absolute path (expected the target, e.g. /work)"),
        (head + "  - {slug: b, image: alpine, resources: [{type: HTTP, url: \"https://x/y\", target: /m, sha256: abc}]}",
         .invalidValue, "b", "wf.yaml: task \"b\": resources[0].sha256: invalid sha256 \"abc\" (expected 64 hexadecimal digits)"),
        (head + "  - {slug: b, image: alpine, resources: [{type: HF, url: \"hf://m\", target: /m, unpak: true}]}", .unknownKey, "b",
         "wf.yaml: task \"b\": resources[0].unpak: unknown key (did you mean \"unpack\"?)"),
        (head + "  - {slug: b, image: alpine, vast: {disk_gb: 0}}", .invalidValue, "b",
         "wf.yaml: task \"b\": vast.disk_gb: must be more than 0, got \"0\""),
        (head + "  - {slug: b, image: alpine, vast: {acceptance_check: true}}", .invalidValue, "b",
         "wf.yaml: task \"b\": vast.acceptance_check: name the command to run (e.g. \"nvidia-smi\"), or false for no check"),
        (head + "  - {slug: b, image: alpine, vast: {acceptance_check: \" \"}}", .invalidValue, "b",
         "wf.yaml: task \"b\": vast.acceptance_check: is empty (expected a shell command such as \"nvidia-smi\", or false)"),
        (head + "  - {slug: b, image: alpine, max_attempts: 0}", .invalidValue, "b",
         "wf.yaml: task \"b\": max_attempts: must be at least 1, got \"0\""),
        (head + "  - {slug: b, image: alpine, gpu: maybe}", .wrongType, "b",
         "wf.yaml: task \"b\": gpu: expected true or false, got \"maybe\""),
        (head + "  - {slug: b, image: alpine, parents: a}", .wrongType, "b", "wf.yaml: task \"b\": parents: expected a list, got \"a\""),
        (head + "  - {slug: b, image: alpine, env: {1BAD: x}}", .invalidValue, "b",
         "wf.yaml: task \"b\": env.1BAD: invalid variable name (use letters, digits and \"_\", not starting with a digit)"),
        (head + "  - {slug: b, image: alpine, env: {EMPTY: }}", .wrongType, "b",
         "wf.yaml: task \"b\": env.EMPTY: expected a value, got null (write \"\" for an empty value)"),
        (head + "  - {slug: b, image: alpine, work_dir: work}", .invalidValue, "b",
         "wf.yaml: task \"b\": work_dir: \"work\" is not an absolute path (expected the working directory, e.g. /work)"),
        (head + "  - {image: alpine}", .missingField, nil,
         "wf.yaml: tasks[1]: slug: missing (every task needs a slug, the name its children list as parents)"),
        (head + "  - {slug: \"my task\", image: alpine}", .invalidValue, nil,
         "wf.yaml: tasks[1]: slug: invalid slug \"my task\" (use only letters, digits, \".\", \"_\" and \"-\"; not \".\", \"..\", \"current\" or a task id, which /data uses)"),
        (head + "  - just-a-string", .wrongType, nil,
         "wf.yaml: tasks[1]: expected a task mapping with slug and image, got \"just-a-string\""),
        ("tasks:\n  - {slug: a, image: alpine}", .missingField, nil, "wf.yaml: name: missing (every workflow needs a name)"),
        ("name: w\ntasks: []", .invalidValue, nil, "wf.yaml: tasks: is empty (a workflow needs at least one task)"),
        ("name: w\ntaks: []", .unknownKey, nil, "wf.yaml: taks: unknown key (did you mean \"tasks\"?)"),
        ("name: w\nvolumes: [a, a]\ntasks: [{slug: a, image: alpine}]", .invalidValue, nil,
         "wf.yaml: volumes[1]: volume \"a\" is declared twice"),
        ("name: w\nops: []", .unknownKey, nil,
         "wf.yaml: ops: unknown key (a Nosana job needs \"type\": \"container\" and an ops list; an Ergon workflow has name and tasks)"),
        ("{\"type\": \"container\", \"op\": []}", .unknownKey, nil,
         "wf.yaml: type: unknown key (a Nosana job needs \"type\": \"container\" and an ops list; an Ergon workflow has name and tasks)"),
        ("", .invalidValue, nil, "wf.yaml: is empty (expected a workflow with name and tasks, or a Nosana job)"),
        ("- a", .wrongType, nil, "wf.yaml: expected a mapping with name and tasks (or a Nosana job), got a list"),
    ]

    @Test(arguments: errorCases)
    func errorsNameTheFileAndTask(text: String, kind: WorkflowError.Kind, task: String?, message: String) throws {
        let error = try #require(workflowError(text))
        #expect(error.kind == kind)
        #expect(error.file == "wf.yaml")
        #expect(error.task == task)
        #expect(error.description == message)
    }

    @Test func syntaxErrorsNameTheLine() throws {
        let error = try #require(workflowError("name: w\ntasks:\n  - slug: a\n    image: [alpine\n"))
        #expect(error.kind == .syntax)
        #expect(error.line == 5)
        #expect(error.description.hasPrefix("wf.yaml: line 5: invalid YAML: "))
    }
}

@Suite("Workflow loading: Nosana jobs")
struct WorkflowLoaderNosanaTests {
    @Test func theNosanaExampleLoads() throws {
        let spec = try WorkflowLoader.load(path: sharedExample("nosana-job.json"))
        #expect(spec.name == "nosana-job")
        #expect(spec.tasks.map(\.slug) == ["gpu-stats", "run-whisper"])
        let stats = spec.tasks[0]
        #expect(stats.image == "ubuntu")
        #expect(stats.gpu)
        #expect(stats.env == ["DEBUG": "1"])
        #expect(stats.parents.isEmpty)
        // ["sh -c ", "nvidia-smi; …"]: the first element is only a shell invocation, so the
        // rest is the script that shell runs.
        #expect(stats.command == .shell("nvidia-smi; cat /proc/cpuinfo | grep flags | head -1;"))
        #expect(stats.command?.argv == ["/bin/sh", "-c", "nvidia-smi; cat /proc/cpuinfo | grep flags | head -1;"])
        let whisper = spec.tasks[1]
        #expect(whisper.image == "docker.io/nosana/whisper:cuda-check")
        #expect(whisper.gpu)
        #expect(whisper.parents == ["gpu-stats"])
        #expect(whisper.command == .shell(
            "wget -q https://nosana.mypinata.cloud/ipfs/QmPKP7hjBd1Yyt6CmVpggNCgn9x5oXD1ok27HQvmPiFyew -O audio.mp3; python openai-whisper.py -p audio.mp3;"))
    }

    @Test(arguments: [
        (["sh -c ", "echo a;", "echo b"], TaskCommand.shell("echo a; echo b")),
        (["/bin/sh -c", "echo $HOME"], .shell("echo $HOME")),
        (["bash -lc", "source env.sh &&", "run"], .exec(["bash", "-lc", "source env.sh && run"])),
        (["python train.py", "--epochs", "3"], .shell("python train.py --epochs 3")),
        (["echo hello world"], .shell("echo hello world")),
        (["python", "train.py", "--name", "a b"], .exec(["python", "train.py", "--name", "a b"])),
        (["nvidia-smi"], .exec(["nvidia-smi"])),
        (["sh -c "], .shell("")),
    ])
    func cmdArraysFollowNosanasRule(cmd: [String], expected: TaskCommand) {
        #expect(NosanaJob.command(fromArray: cmd) == expected)
    }

    @Test func cmdStringRunsThroughAShell() throws {
        let spec = try WorkflowLoader.parse(text: """
            {"type": "container", "ops": [{"type": "container/run", "id": "a", "args": {"image": "alpine", "cmd": "echo hi && ls"}}]}
            """, fileName: "jobs/one.json")
        #expect(spec.name == "one")
        #expect(spec.tasks[0].command == .shell("echo hi && ls"))
    }

    @Test func globalsMergeIntoEveryOpAndOpValuesWin() throws {
        let spec = try WorkflowLoader.parse(text: """
            {
              "version": "0.1", "type": "container", "meta": {"trigger": "cli", "system_requirements": {"required_vram": 8}},
              "global": {"image": "base:1", "gpu": true, "entrypoint": "/entry", "env": {"A": "1", "B": "2"}, "work_dir": "/w"},
              "ops": [
                {"type": "container/run", "id": "first", "args": {"cmd": ["nvidia-smi"]}},
                {"type": "container/run", "id": "second",
                 "args": {"image": "own:2", "gpu": false, "env": {"B": "3", "C": 4}, "entrypoint": [], "work_dir": "/own"}},
                {"type": "container/run", "id": "third", "args": {}}
              ]
            }
            """, fileName: "merge.json")
        let first = spec.tasks[0], second = spec.tasks[1], third = spec.tasks[2]
        #expect(first.image == "base:1")
        #expect(first.gpu)
        #expect(first.entrypoint == ["/entry"])
        #expect(first.env == ["A": "1", "B": "2"])
        #expect(first.workDir == "/w")
        #expect(first.command == .exec(["nvidia-smi"]))
        #expect(second.image == "own:2")
        #expect(!second.gpu)
        #expect(second.entrypoint == [])
        #expect(second.env == ["A": "1", "B": "3", "C": "4"])
        #expect(second.workDir == "/own")
        #expect(second.parents == ["first"])
        #expect(third.parents == ["second"])
        #expect(third.command == nil)
    }

    @Test func createVolumeOpsDeclareVolumesThatRunOpsMount() throws {
        let spec = try WorkflowLoader.parse(text: """
            {"type": "container", "ops": [
              {"type": "container/create-volume", "id": "make-models", "args": {"name": "models"}},
              {"type": "container/run", "id": "fetch", "args": {"image": "alpine", "volumes": [{"name": "models", "dest": "/models"}]}},
              {"type": "container/create-volume", "id": "scratch"},
              {"type": "container/run", "id": "use", "args": {"image": "alpine",
                "volumes": [{"name": "models", "dest": "/models"}, {"name": "scratch", "dest": "/tmp/s"}]}}
            ]}
            """, fileName: "vol.json")
        #expect(spec.volumes == ["models", "scratch"])
        #expect(spec.tasks.map(\.slug) == ["fetch", "use"])
        #expect(spec.tasks[1].parents == ["fetch"])
        #expect(spec.tasks[1].volumes == [VolumeMount(name: "models", dest: "/models"), VolumeMount(name: "scratch", dest: "/tmp/s")])
    }

    private static func job(_ ops: String, global: String = "") -> String {
        "{\"type\": \"container\", \(global)\"ops\": [\(ops)]}"
    }

    static let errorCases: [(String, WorkflowError.Kind, String?, String)] = [
        (job("{\"type\": \"container/run\", \"id\": \"run\", \"args\": {\"cmd\": \"ls\"}}"), .missingField, "run",
         "job.json: task \"run\": args.image: missing (set args.image, or global.image for every op)"),
        (job("{\"type\": \"container/run\", \"id\": \"run\"}"), .missingField, "run",
         "job.json: task \"run\": args.image: missing (set args.image, or global.image for every op)"),
        (job("{\"type\": \"container/run\", \"args\": {\"image\": \"x\"}}"), .missingField, nil,
         "job.json: ops[0]: id: missing (every op needs an id; it becomes the task's slug)"),
        (job("{\"type\": \"container/run\", \"id\": \"run\", \"args\": {\"image\": \"a\", \"cmd\": []}}"), .invalidValue, "run",
         "job.json: task \"run\": args.cmd: is empty (leave cmd out to run the image's own command)"),
        (job("{\"type\": \"container/run\", \"id\": \"run\", \"args\": {\"image\": \"a\", \"cmdd\": \"ls\"}}"), .unknownKey, "run",
         "job.json: task \"run\": args.cmdd: unknown key (did you mean \"cmd\"?)"),
        (job("{\"type\": \"container/run\", \"id\": \"run\", \"args\": {\"image\": \"a\", \"expose\": 8080}}"), .unsupported, "run",
         "job.json: task \"run\": args.expose: is not supported by Ergon (task ports are not published; remove it)"),
        (job("{\"type\": \"container/run\", \"id\": \"run\", \"args\": {\"image\": \"a\"}, \"results\": {}}"), .unsupported, nil,
         "job.json: ops[0]: results: is not supported by Ergon (it keeps each task's whole log instead; remove it)"),
        (job("{\"type\": \"container/exec\", \"id\": \"run\", \"args\": {}}"), .unsupported, nil,
         "job.json: ops[0]: type: unsupported op type \"container/exec\" (did you mean \"container/run\"?)"),
        (job("{\"type\": \"container/run\", \"id\": \"a\", \"args\": {\"image\": \"x\"}}, {\"type\": \"container/run\", \"id\": \"a\", \"args\": {\"image\": \"x\"}}"),
         .duplicateSlug, "a", "job.json: task \"a\": duplicate slug (another task already uses it; slugs must be unique in a workflow)"),
        (job("{\"type\": \"container/run\", \"id\": \"a b\", \"args\": {\"image\": \"x\"}}"), .invalidValue, nil,
         "job.json: ops[0]: id: invalid id \"a b\" (use only letters, digits, \".\", \"_\" and \"-\"; not \".\", \"..\", \"current\" or a task id, which /data uses)"),
        (job("{\"type\": \"container/run\", \"id\": \"a\", \"args\": {\"image\": \"x\", \"volumes\": [{\"name\": \"v\", \"dest\": \"/v\"}]}}"),
         .undeclaredVolume, "a",
         "job.json: task \"a\": args.volumes[0].name: volume \"v\" is not declared (declare it in a container/create-volume op)"),
        (job("{\"type\": \"container/create-volume\", \"id\": \"v\"}"), .invalidValue, nil,
         "job.json: ops: has no container/run op (nothing would run)"),
        (job("{\"type\": \"container/run\", \"id\": \"a\", \"args\": {}}", global: "\"global\": {\"imag\": \"x\"}, "), .unknownKey, nil,
         "job.json: global.imag: unknown key (did you mean \"image\"?)"),
        ("{\"type\": \"container\", \"ops\": []}", .invalidValue, nil,
         "job.json: ops: is empty (a job needs at least one container/run op)"),
        ("{\"type\": \"container\", \"ops\": [], \"logistics\": {}}", .unknownKey, nil,
         "job.json: logistics: unknown key (expected one of: version, type, meta, global, ops)"),
    ]

    @Test(arguments: errorCases)
    func errorsNameTheFileAndTask(text: String, kind: WorkflowError.Kind, task: String?, message: String) throws {
        let error = try #require(workflowError(text, fileName: "job.json"))
        #expect(error.kind == kind)
        #expect(error.task == task)
        #expect(error.description == message)
    }
}
