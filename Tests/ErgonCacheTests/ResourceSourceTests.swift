import ErgonCore
import Testing

@Suite struct ResourceSourceTests {
    @Test func hfPathsMapToResolveURLs() throws {
        let path = try #require(HuggingFacePath("hf://teklia/pylaia-model@v1.2/weights/model.ckpt"))
        #expect(path.owner == "teklia" && path.repository == "pylaia-model" && path.revision == "v1.2")
        #expect(path.downloadURL(endpoint: nil) == "https://huggingface.co/teklia/pylaia-model/resolve/v1.2/weights/model.ckpt")
        #expect(path.downloadURL(endpoint: "http://127.0.0.1:9999/") == "http://127.0.0.1:9999/teklia/pylaia-model/resolve/v1.2/weights/model.ckpt")
        let main = try #require(HuggingFacePath("hf://org/repo/config.json"))
        #expect(main.revision == "main")
        let pr = try #require(HuggingFacePath("hf://org/repo@refs/pr/1/config.json"))
        // A revision holding "/" cannot be told from the path; the first segment is the revision.
        #expect(pr.revision == "refs" && pr.path == "pr/1/config.json")
        for bad in ["hf://org", "hf://org/repo", "hf://org/repo@/x", "hf:///repo/x", "hf://org/repo/../x", "https://org/repo/x"] {
            #expect(HuggingFacePath(bad) == nil, "\(bad)")
        }
    }

    @Test func cacheKeysFollowTypeURLAndUnpackingOnly() {
        let a = ResourceSource(kind: .http, url: "https://example.org/m.tar.zst", sha256: nil, unpack: true)
        var b = a
        b.sha256 = String(repeating: "a", count: 64)
        #expect(a.cacheKey == b.cacheKey)
        b.unpack = false
        #expect(a.cacheKey != b.cacheKey)
        #expect(a.cacheKey != ResourceSource(kind: .hf, url: a.url, unpack: true).cacheKey)
        #expect(a.cacheKey.count == 64)
        #expect(a.archiveFormat == .tarZstd)
        #expect(ResourceSource(kind: .http, url: "https://x.org/a.tgz?sig=1").archiveFormat == .tarGzip)
        #expect(ResourceSource(kind: .http, url: "https://x.org/a.bin").archiveFormat == nil)
        #expect(ResourceSource(kind: .s3, url: "s3://bucket/models/").isS3Prefix)
    }

    @Test func byteSizes() {
        #expect(ByteSizeParser.parse("512MiB") == Int64(536_870_912))
        #expect(ByteSizeParser.parse("50GB") == 50_000_000_000)
        #expect(ByteSizeParser.parse("1.5 TiB") == 1_649_267_441_664)
        #expect(ByteSizeParser.parse("1024") == 1024)
        #expect(ByteSizeParser.parse("10 parsecs") == nil)
        #expect(ByteSizeParser.parse("-1GB") == nil)
        #expect(ByteSizeParser.format(512 * 1_048_576) == "512.0 MiB")
    }
}
