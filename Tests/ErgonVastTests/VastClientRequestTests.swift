import AsyncHTTPClient
import Foundation
import Testing

@testable import ErgonVast

/// What each call sends, the values answers decode to, and the retry policy: no server involved.
@Suite struct VastClientRequestTests {
    static let key = "sk-request-test-key-42"

    func client(_ base: String = "https://console.vast.ai") -> VastClient {
        VastClient(baseURL: URL(string: base)!, apiKey: Self.key, httpClient: HTTPClient.shared)
    }

    @Test func callsUseTheOfficialPathsMethodsAndBodies() {
        let order = VastCreateRequest(image: "img:1", disk: 16, label: "ergon-x")
        let cases: [(VastCall, VastCall.Method, String, JSONValue?)] = [
            (.searchOffers(body: ["limit": 5]), .POST, "/api/v0/bundles/", ["limit": 5]),
            (.createInstance(offerID: 42, request: order), .PUT, "/api/v0/asks/42/", order.json),
            (.showInstance(id: 9), .GET, "/api/v0/instances/9/", nil),
            (.requestLogs(id: 9, tail: 1000), .PUT, "/api/v0/instances/request_logs/9/", ["tail": "1000"]),
            (.destroyInstance(id: 9), .DELETE, "/api/v0/instances/9/", [:]),
            (.setLabel(id: 9, label: "ergon-y"), .PUT, "/api/v0/instances/9/", ["label": "ergon-y"]),
            (.stopInstance(id: 9), .PUT, "/api/v0/instances/9/", ["state": "stopped"]),
        ]
        for (call, method, path, body) in cases {
            #expect(call.method == method)
            #expect(call.path == path)
            #expect(call.body == body)
            #expect(call.isIdempotent == (call.operation != .createInstance))
        }
        #expect(VastCall.showInstance(id: 9).query.map(\.name) == ["owner"])
    }

    @Test func theKeyTravelsOnlyInTheAuthorizationHeader() {
        let client = client("http://127.0.0.1:8080/")
        for call in [VastCall.searchOffers(body: [:]), .showInstance(id: 3), .listInstances(selectFilters: nil, limit: 25, after: "t")] {
            let request = client.authorizedRequest(for: call)
            #expect(request.headers.first(name: "Authorization") == "Bearer \(Self.key)")
            #expect(!request.url.contains(Self.key))
            #expect(!request.url.contains("api_key"))
            #expect(request.url.hasPrefix("http://127.0.0.1:8080/api/"))
        }
        #expect(!String(describing: client).contains(Self.key))
        #expect(!String(reflecting: client).contains(Self.key))
    }

    @Test func listingQueryCarriesFiltersOrderLimitAndToken() throws {
        let filters: JSONValue = ["label": ["in": ["ergon-a b", "ergon-&=?"]]]
        let call = VastCall.listInstances(selectFilters: filters, limit: 25, after: "eyJ2+/=")
        let url = client().authorizedRequest(for: call).url
        let components = try #require(URLComponents(string: url))
        #expect(components.path == "/api/v1/instances/")
        var items: [String: String] = [:]
        for item in components.queryItems ?? [] { items[item.name] = item.value }
        #expect(items["limit"] == "25")
        #expect(items["after_token"] == "eyJ2+/=")
        #expect(try JSONValue.decode(Data(try #require(items["select_filters"]).utf8)) == filters)
        #expect(try JSONValue.decode(Data(try #require(items["order_by"]).utf8)) == [["col": "id", "dir": "asc"]])
        // Only the columns the agent reads: a whole row is some eighty members.
        let columns = try JSONValue.decode(Data(try #require(items["select_cols"]).utf8)).arrayValue?.compactMap(\.stringValue)
        #expect(columns.map(Set.init) == VastInstance.readFields)
        // Without filters the CLI still sends an empty object, and no token on the first page.
        let first = VastCall.listInstances(selectFilters: nil, limit: 10, after: nil)
        #expect(first.query.map(\.name) == ["limit", "select_filters", "order_by", "select_cols"])
        #expect(first.query[1].value == "{}")
    }

    @Test func createBodyMatchesTheCLIShape() {
        let order = VastCreateRequest(
            image: "ghcr.io/a/b:1", env: ["A": "1"], disk: 12.5, label: "ergon-t", args: ["-c", "echo hi"],
            onstart: "/bin/sh", imageLogin: "-u u -p p ghcr.io")
        #expect(
            order.json.jsonText
                == #"{"args":["-c","echo hi"],"cancel_unavail":true,"client_id":"me","disk":12.5,"env":{"A":"1"},"image":"ghcr.io/a/b:1","image_login":"-u u -p p ghcr.io","label":"ergon-t","onstart":"/bin/sh","runtype":"args"}"#
        )
        let bare = VastCreateRequest(image: "i", disk: 8, label: "l", cancelUnavail: false)
        #expect(bare.json["onstart"] == nil)
        #expect(bare.json["image_login"] == nil)
        #expect(bare.json["env"] == [:])
        #expect(bare.json["disk"]?.jsonText == "8")
        #expect(bare.json["cancel_unavail"] == false)
    }

    @Test func offersDecodeLeniently() throws {
        let raw: JSONValue = [
            "id": "123", "machine_id": 77, "host_id": nil, "gpu_name": "RTX 4090", "num_gpus": "1", "gpu_ram": 24564,
            "dph_total": "0.412", "reliability2": 0.995, "inet_down": 812.5, "geolocation": "Oslo, NO",
            "cuda_max_good": "12.4", "duration": 86400.0, "storage_cost": 0.1, "disk_space": 120,
        ]
        let offer = try VastOffer(json: raw)
        #expect(offer.id == 123)
        #expect(offer.machineID == 77)
        #expect(offer.hostID == nil)
        #expect(offer.numGPUs == 1)
        #expect(offer.gpuRAM == 24564)
        #expect(offer.dphTotal == 0.412)
        #expect(offer.reliability == 0.995)
        #expect(offer.cudaMaxGood == 12.4)
        #expect(offer.geolocation == "Oslo, NO")
        #expect(offer.raw == raw)
        var missing = raw.objectValue!
        missing["dph_total"] = nil
        #expect {
            try VastOffer(json: .object(missing))
        } throws: { error in
            (error as? VastError)?.kind == .malformed && "\(error)".contains("dph_total")
        }
        #expect(throws: VastError.self) { try VastOffer(json: ["id": 1.5, "machine_id": 1]) }
    }

    @Test func instancesNeedOnlyAnID() throws {
        let raw: JSONValue = [
            "id": 5, "machine_id": "9", "label": "ergon-l", "actual_status": nil, "intended_status": "running",
            "cur_state": "running", "next_state": "running", "status_msg": "pulling", "image_uuid": "img",
            "start_date": 1_700_000_000.5, "dph_total": "0.3", "gpu_name": "RTX 3090", "extra_env": [["A", "1"]],
        ]
        let instance = try VastInstance(json: raw)
        #expect(instance.id == 5)
        #expect(instance.machineID == 9)
        #expect(instance.actualStatus == nil)
        #expect(instance.statusMsg == "pulling")
        #expect(instance.startDate == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(instance.dphTotal == 0.3)
        #expect(try VastInstance(json: ["id": "6"]).id == 6)
        #expect(throws: VastError.self) { try VastInstance(json: ["label": "x"]) }
        #expect(throws: VastError.self) { try VastInstance(json: "5") }
    }

    /// A listing keeps only the members an instance is read from: pruning them away must not
    /// change what the agent sees.
    @Test func aListingKeepsEveryMemberAnInstanceReads() throws {
        let item: JSONValue = [
            "id": 5, "machine_id": 9, "label": "ergon-l", "actual_status": "running", "intended_status": "running",
            "cur_state": "running", "next_state": "running", "status_msg": "ok", "image_uuid": "img",
            "start_date": 1_700_000_000.5, "dph_total": 0.3, "gpu_name": "RTX 3090", "extra_env": [["A", "1"]],
            "ssh_host": "h", "inet_down": 900,
        ]
        let page: JSONValue = [
            "instances": [item], "next_token": "t", "success": true, "label_counts": ["ergon-l": 1], "total_instances": 1,
        ]
        let call = VastCall.listInstances(selectFilters: nil, limit: 25, after: nil)
        let pruned = try JSONParser.parse(Array(page.encoded(pretty: false)), pruning: call.pruning)
        let kept = try #require(pruned["instances"]?.arrayValue?.first?.objectValue)
        #expect(Set(kept.keys) == VastInstance.readFields)
        #expect(Set(try #require(pruned.objectValue).keys) == ["instances", "next_token", "success"])
        #expect(try VastInstance(json: .object(kept)) == VastInstance(json: item))
        #expect(VastCall.showInstance(id: 5).pruning == nil)
    }

    @Test func retryPolicyBacksOffAndHonoursRetryAfter() {
        let policy = VastRetryPolicy.standard
        let server = VastError(kind: .server(status: 503), message: "")
        #expect(policy.delay(after: server, attempt: 1) == .milliseconds(150))
        #expect(policy.delay(after: server, attempt: 2) == .milliseconds(225))
        #expect(policy.delay(after: server, attempt: 3) == nil)
        let limited = VastError(kind: .rateLimited(retryAfter: 12), message: "")
        #expect(policy.delay(after: limited, attempt: 1) == .seconds(12))
        #expect(policy.delay(after: VastError(kind: .rateLimited(retryAfter: 61), message: ""), attempt: 1) == nil)
        #expect(policy.delay(after: VastError(kind: .rateLimited(retryAfter: nil), message: ""), attempt: 2) == .milliseconds(225))
        #expect(policy.delay(after: VastError(kind: .auth, message: ""), attempt: 1) == nil)
        #expect(VastRetryPolicy(attempts: 0).attempts == 1)
    }

    @Test func aRefusedConnectionIsATransportErrorWithoutTheKey() async throws {
        // Port 9 (discard) on loopback is closed on the test machines: the connection is refused.
        let policy = VastRetryPolicy(attempts: 2, initialDelay: .milliseconds(1), requestTimeout: .milliseconds(500))
        try await VastClient.withClient(baseURL: URL(string: "http://127.0.0.1:9")!, apiKey: Self.key, retry: policy) { client in
            let error = await #expect(throws: VastError.self) { try await client.instance(id: 1) }
            #expect(error?.kind == .transport)
            #expect(error?.message.contains("gave up after 2 tries") == true)
            #expect(!String(describing: error).contains(Self.key))
            // A create is tried once only.
            let create = await #expect(throws: VastError.self) {
                try await client.createInstance(offerID: 1, request: VastCreateRequest(image: "i", disk: 8, label: "l"))
            }
            #expect(create?.kind == .transport)
            #expect(create?.message.contains("gave up") == false)
        }
    }
}
