import Foundation
import Testing

@testable import ErgonCore

/// The `cache` section, `docker.cache_usage`, `vast_api.prefer_warm_hosts_within`, and the
/// resource fields of workflows.
@Suite("Cache configuration and task resources")
struct CacheConfigTests {
    static func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> ErgonConfig {
        try ConfigLoader.parse(text: text, fileName: "ergon.yaml", directory: "/etc/ergon", environment: environment, hostName: "box")
    }

    @Test func defaultsAndEveryKey() throws {
        let defaults = try Self.parse("")
        #expect(defaults.cacheDirectory == defaults.dataDir + "/cache/box")
        #expect(defaults.cache.maxSize == 100 * 1_073_741_824)
        #expect(defaults.cache.purgeUnusedAfter == .seconds(86_400))
        #expect(defaults.docker.cacheUsage == .cacheFirst)
        #expect(defaults.vast.preferWarmHostsWithin == nil)
        let config = try Self.parse("""
            docker: {cache_usage: require_pull}
            vast_api: {prefer_warm_hosts_within: 12.5%}
            s3: {access_key_id: AKIA1, secret_access_key: x, endpoint: "http://127.0.0.1:9000"}
            cache:
              dir: cache-here
              max_size: 512MiB
              purge_unused_after: 2h
              check_every: 10m
              required:
                resources:
                  - {type: S3, url: "s3://models/a.tar.zst", unpack: true}
                  - {type: HF, url: "hf://org/repo/model.bin", sha256: \(String(repeating: "a", count: 64))}
                images: [ubuntu:24.04]
            """)
        #expect(config.cacheDirectory == "/etc/ergon/cache-here")
        #expect(config.cache.maxSize == 536_870_912)
        #expect(config.cache.purgeUnusedAfter == .seconds(7200))
        #expect(config.cache.checkEvery == .seconds(600))
        #expect(config.cache.requiredResources == [
            ResourceSource(kind: .s3, url: "s3://models/a.tar.zst", unpack: true),
            ResourceSource(kind: .hf, url: "hf://org/repo/model.bin", sha256: String(repeating: "a", count: 64)),
        ])
        #expect(config.cache.requiredImages == ["ubuntu:24.04"])
        #expect(config.docker.cacheUsage == .requirePull)
        #expect(config.vast.preferWarmHostsWithin == 0.125)
    }

    static let configErrors: [(String, String)] = [
        ("cache: {max_size: lots}", "ergon.yaml: cache.max_size: invalid size \"lots\" (expected a number of bytes or a size like 512MiB, 50GB or 1TiB)"),
        ("cache: {max_size: 0}", "ergon.yaml: cache.max_size: must be more than zero, got \"0\""),
        ("cache: {maxsize: 1GB}", "ergon.yaml: cache.maxsize: unknown key (did you mean \"max_size\"?)"),
        ("cache: {required: {resources: [{type: HTTP, url: \"https://x/m.bin\", target: /m}]}}",
         "ergon.yaml: cache.required.resources[0].target: unknown key (expected one of: type, url, sha256, unpack)"),
        ("cache: {required: {images: [ubuntu, ubuntu]}}", "ergon.yaml: cache.required.images[1]: image \"ubuntu\" is listed twice"),
        ("docker: {cache_usage: cache-first}",
         "ergon.yaml: docker.cache_usage: unknown cache_usage \"cache-first\" (one of cache_first, remote_first, require_pull) (did you mean \"cache_first\"?)"),
        ("vast_api: {prefer_warm_hosts_within: lots}",
         "ergon.yaml: vast_api.prefer_warm_hosts_within: invalid percentage \"lots\" (expected a value from 0% to 1000%, e.g. 10%)"),
    ]

    @Test(arguments: configErrors)
    func configErrorsNameTheKey(text: String, message: String) {
        #expect(throws: ConfigError.self) { try Self.parse(text) }
        do {
            _ = try Self.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func requiredS3ResourcesNeedCredentials() {
        do {
            _ = try Self.parse("cache: {required: {resources: [{type: S3, url: \"s3://b/k\"}]}}")
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath.hasPrefix("s3."), "\(error)")
            #expect(error.description.contains("resources in cache.required"), "\(error)")
        }
    }

    static let workflowErrors: [(String, String)] = [
        ("[{type: HTTP, url: \"https://x/m.bin\", target: /m, unpack: true}]",
         "resources[0].unpack: cannot unpack \"https://x/m.bin\": only .tar, .tar.gz (.tgz) and .tar.zst archives are unpacked"),
        ("[{type: HF, url: \"hf://org/repo\", target: /m}]",
         "resources[0].url: invalid Hugging Face resource \"hf://org/repo\" (expected hf://OWNER/REPO[@REVISION]/PATH, e.g. hf://teklia/pylaia-model@main/model.ckpt)"),
        ("[{type: S3, url: \"s3://b/prefix/\", target: /m, sha256: \(String(repeating: "a", count: 64))}]",
         "resources[0].sha256: an S3 prefix (a URL ending in \"/\") is a folder of objects and has no single sha256"),
        ("[{type: HTTP, url: \"https://x/a\", target: /m, model: true}, {type: HTTP, url: \"https://x/b\", target: /n, model: true}]",
         "resources[1]: a second resource is marked model: true (a task has at most one model)"),
        ("[{type: HTTP, url: \"https://x/a\", target: /m}, {type: HTTP, url: \"https://x/b\", target: /m}]",
         "resources[1]: two resources are mounted at \"/m\""),
        ("[{type: HTTP, url: \"https://x/a\", target: \"/m:rw\"}]",
         "resources[0]: the target \"/m:rw\" holds \":\" or \",\", which a container mount cannot take"),
        ("[{type: HTTP, url: \"https://x/a\", target: /data}]",
         "resources[0]: a resource cannot be mounted at /data (pick a folder such as /models/name)"),
    ]

    @Test(arguments: workflowErrors)
    func resourceErrorsNameTheKey(resources: String, message: String) {
        let text = "name: w\ntasks:\n  - {slug: a, image: alpine, resources: \(resources)}\n"
        do {
            _ = try WorkflowLoader.parse(text: text, fileName: "wf.yaml")
            Issue.record("expected an error for \(resources)")
        } catch {
            #expect(error.description == "wf.yaml: task \"a\": " + message)
        }
    }

    @Test func cacheOptOutAndStoredRowsWithoutTheModelFlag() throws {
        let spec = try WorkflowLoader.parse(
            text: "name: w\ntasks:\n  - {slug: a, image: alpine, cache: false, resources: [{type: HTTP, url: \"https://x/a\", target: /m}]}\n",
            fileName: "wf.yaml")
        #expect(spec.tasks[0].cache == false)
        // A row stored before `model` existed still reads.
        let old = #"{"type":"HTTP","url":"https://x/a","target":"/m","unpack":false}"#
        let resource = try JSONDecoder().decode(TaskResource.self, from: Data(old.utf8))
        #expect(resource.model == false && resource.source.kind == .http)
    }
}
