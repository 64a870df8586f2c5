import Testing

@testable import ErgonVast

@Suite struct OfferFilterTests {
    static let offer: JSONValue = [
        "id": 4_211_001, "machine_id": 8812, "gpu_name": "RTX 4090", "num_gpus": 1, "gpu_ram": 24564,
        "cpu_ram": 64_000, "disk_space": 120.5, "dph_total": 0.412, "reliability": 0.991, "verified": true,
        "rentable": true, "rented": false, "external": false, "geolocation": "Oslo, NO", "driver_version": "535.86.05",
        "cuda_max_good": 12.2, "ubuntu_version": "22.04", "min_bid": nil, "inet_down": "850.5",
    ]

    private func passes(_ query: String, _ offer: JSONValue = offer) throws -> Bool {
        try OfferQuery.parse(query, defaults: .empty).filter.matches(offer)
    }

    @Test(arguments: [
        ("num_gpus=1", true), ("num_gpus==1.0", true), ("num_gpus!=1", false), ("num_gpus!=2", true),
        ("reliability>0.99", true), ("reliability>0.991", false), ("reliability>=0.991", true),
        ("dph<0.412", false), ("dph<=0.412", true), ("dph lt 0.5", true), ("num_gpus in [1,2]", true),
        ("num_gpus notin [1,2]", false), ("num_gpus nin [2,4]", true), ("machine_id in [8812]", true),
    ])
    func comparesNumbersWhateverTheSpelling(query: String, expected: Bool) throws {
        #expect(try passes(query) == expected)
    }

    @Test func coercesNumericStringsOnBothSides() throws {
        #expect(try passes("inet_down>800"))
        #expect(try passes("inet_down=850.5"))
        #expect(!(try passes("inet_down<800")))
        let filter: OfferFilter = ["num_gpus": [.eq: 1], "dph_total": [.lt: "0.5"]]
        #expect(filter.matches(Self.offer))
    }

    @Test func appliesTheCLIUnitsToOffersInMegabytesAndSeconds() throws {
        #expect(try passes("gpu_ram>=24"))
        #expect(!(try passes("gpu_ram>=25")))
        #expect(try passes("cpu_ram>=64"))
        #expect(try passes("duration>1", ["duration": 200_000]))
        #expect(!(try passes("duration>3", ["duration": 200_000])))
    }

    @Test func comparesBooleansAsBooleans() throws {
        #expect(try passes("verified=true rentable=True rented=false external=False"))
        #expect(!(try passes("verified=false")))
        #expect(try passes("verified!=false"))
        let stringly: OfferFilter = ["verified": [.eq: "true"], "rented": [.eq: 0]]
        #expect(stringly.matches(Self.offer))
        #expect(try passes("verified=true", ["verified": "True"]))
        #expect(try passes("verified=true", ["verified": 1]))
    }

    @Test func comparesStringsExactly() throws {
        #expect(try passes("gpu_name=RTX_4090"))
        #expect(!(try passes("gpu_name=rtx_4090")))
        #expect(try passes("gpu_name in [\"RTX 4090\", A100]"))
        #expect(!(try passes("gpu_name notin [RTX_4090]")))
        #expect(try passes("gpu_name>RTX_3090 gpu_name<RTX_5090"))
        // String fields do not read numbers: "22.04" is not "22.040".
        #expect(try passes("ubuntu_version=22.04"))
        #expect(!(try passes("ubuntu_version=22.040")))
        #expect(try passes("ubuntu_version>=20.04"))
    }

    @Test func comparesTheCountryCodeOfGeolocation() throws {
        #expect(try passes("geolocation=NO"))
        #expect(try passes("geolocation=no"))
        #expect(try passes("geolocation in [US,NO]"))
        #expect(!(try passes("geolocation notin [SE,NO]")))
        #expect(try passes("geolocation!=SE"))
        #expect(try passes("geolocation=US", ["geolocation": "US"]))
        #expect(try passes("geolocation=US", ["geolocation": "Portland, Oregon, US"]))
        #expect(!(try passes("geolocation=US", ["geolocation": "Oslo, NO"])))
    }

    @Test func comparesDriverVersionsAsTheCLIEncodesThem() throws {
        #expect(try passes("driver_version>=535.86.05"))
        #expect(try passes("driver_version>=535.54.03"))
        #expect(!(try passes("driver_version>=550.54.15")))
        #expect(try passes("driver_version>=535.86.05", ["driver_version": 535_086_005]))
    }

    @Test func missingFieldsFailEveryTermAndNullOnlyMatchesNull() throws {
        for query in ["dlperf>1", "dlperf!=1", "dlperf notin [1]", "dlperf=None", "dlperf!=None"] {
            #expect(!(try passes(query)), "\(query)")
        }
        #expect(try passes("min_bid=None"))
        #expect(!(try passes("min_bid!=null")))
        #expect(try passes("reliability!=null"))
        #expect(!(try passes("min_bid>0")))
        #expect(!(try passes("min_bid!=1")))
        #expect(!(try passes("min_bid notin [1]")))
        #expect(try passes("min_bid in [null]") == false)  // list items stay strings: "null"
        let listed: OfferFilter = ["min_bid": [.in: [nil, 1]]]
        #expect(listed.matches(Self.offer))
        #expect(!OfferFilter(["num_gpus": [.eq: 1]]).matches("not an object"))
    }

    @Test func reportsTheFirstFailingTermInFieldOrder() throws {
        let filter = try OfferQuery.parse("reliability>0.999 gpu_name=A100 num_gpus=1").filter
        #expect(filter.firstFailingTerm(Self.offer) == OfferTerm(field: "gpu_name", op: .eq, value: "A100"))
        #expect(filter.terms.map(\.field) == ["external", "gpu_name", "num_gpus", "reliability", "rentable", "verified"])
        var unrented = Self.offer.objectValue!
        unrented["gpu_name"] = "A100"
        #expect(filter.firstFailingTerm(.object(unrented))?.field == "reliability")
        unrented["reliability"] = 1
        #expect(filter.firstFailingTerm(.object(unrented)) == nil)
        #expect(filter.compiled.firstFailingIndex(unrented) == nil)
    }

    @Test func andKeepsTheStricterBounds() throws {
        let a: OfferFilter = ["dph_total": [.gt: "0.1", .lt: 1], "reliability": [.gte: 0.9]]
        let b: OfferFilter = ["dph_total": [.gte: 0.2, .lte: "1"], "reliability": [.gt: 0.9], "num_gpus": [.eq: "1"]]
        let both = a.and(b)
        #expect(both["dph_total"] == [.gte: 0.2, .lt: 1])
        #expect(both["reliability"] == [.gt: 0.9])
        #expect(both["num_gpus"] == [.eq: "1"])
        #expect(a.and(["dph_total": [.lt: 0.5]])["dph_total"] == [.gt: "0.1", .lt: 0.5])
        #expect(a.and(["dph_total": [.lt: 2]])["dph_total"] == [.gt: "0.1", .lt: 1])
    }

    @Test func andIntersectsInAndUnitesNotin() throws {
        let a: OfferFilter = ["gpu_name": [.in: ["A100", "H100", "RTX 4090"]], "geolocation": [.notin: ["CN"]]]
        let b: OfferFilter = ["gpu_name": [.in: ["H100", "RTX 4090", "L40"]], "geolocation": [.notin: ["VN", "CN"]]]
        let both = a.and(b)
        #expect(both["gpu_name"] == [.in: ["H100", "RTX 4090"]])
        #expect(both["geolocation"] == [.notin: ["CN", "VN"]])
        let numbers: OfferFilter = ["machine_id": [.notin: ["12"]]]
        #expect(numbers.and(["machine_id": [.notin: [12, 13]]])["machine_id"] == [.notin: ["12", 13]])
    }

    @Test func andTurnsTwoNeqIntoNotin() throws {
        let a: OfferFilter = ["gpu_name": [.neq: "A100"]]
        #expect(a.and(["gpu_name": [.neq: "H100"]])["gpu_name"] == [.notin: ["A100", "H100"]])
        #expect(a.and(["gpu_name": [.neq: "A100"]])["gpu_name"] == [.neq: "A100"])
        let withList: OfferFilter = ["gpu_name": [.neq: "A100", .notin: ["L4"]]]
        #expect(withList.and(["gpu_name": [.neq: "H100"]])["gpu_name"] == [.notin: ["L4", "A100", "H100"]])
    }

    @Test func andOnConflictingEqualsKeepsBothAndIsUnsatisfiable() throws {
        let a: OfferFilter = ["num_gpus": [.eq: "1"], "gpu_name": [.eq: "A100"]]
        let same = a.and(["num_gpus": [.eq: 1]])
        #expect(same == a)
        #expect(!same.isUnsatisfiable)

        let conflict = a.and(["gpu_name": [.eq: "H100"]])
        #expect(conflict["gpu_name"] == [.eq: "A100", .in: ["H100"]])
        #expect(conflict.isUnsatisfiable)
        #expect(!conflict.matches(["num_gpus": 1, "gpu_name": "A100"]))
        #expect(!conflict.matches(["num_gpus": 1, "gpu_name": "H100"]))
    }

    @Test func findsContradictions() throws {
        let unsatisfiable: [OfferFilter] = [
            ["dph_total": [.gt: 1, .lt: 0.5]], ["dph_total": [.gt: 1, .lte: 1]], ["gpu_name": [.in: []]],
            ["gpu_name": [.eq: "A100", .neq: "A100"]], ["gpu_name": [.in: ["A100"], .notin: ["A100"]]],
            ["num_gpus": [.eq: "1", .gt: 1]], ["min_bid": [.gt: nil]],
            OfferFilter(["dph_total": [.gt: 1]]).and(["dph_total": [.gt: "cheap"]]),
        ]
        for filter in unsatisfiable {
            #expect(filter.isUnsatisfiable, "\(filter.json.jsonText)")
        }
        let satisfiable: [OfferFilter] = [
            ["dph_total": [.gte: 1, .lte: 1]], ["gpu_name": [.in: ["A100", "H100"], .neq: "A100"]],
            ["num_gpus": [.eq: "1", .gte: 1]], try OfferQuery.parse("").filter,
        ]
        for filter in satisfiable {
            #expect(!filter.isUnsatisfiable, "\(filter.json.jsonText)")
        }
    }

    @Test func readsARequestBodyAndIgnoresTheNonFilterKeys() throws {
        let body: JSONValue = [
            "verified": ["eq": true], "gpu_ram": ["gte": 24000.0], "order": [["dph_total", "asc"]],
            "type": "on-demand", "limit": 64, "allocated_storage": 20,
        ]
        let filter = try OfferFilter(json: body)
        #expect(filter == ["verified": [.eq: true], "gpu_ram": [.gte: 24000.0]])
        #expect(filter.json == ["verified": ["eq": true], "gpu_ram": ["gte": 24000.0]])
        #expect(filter.requestBody(limit: 64, allocatedStorage: 20) == body)

        #expect(throws: OfferQueryError.self) { try OfferFilter(json: ["num_gpus": ["=": 1]]) }
        #expect(throws: OfferQueryError.self) { try OfferFilter(json: ["num_gpus": 1]) }
        #expect(throws: OfferQueryError.self) { try OfferFilter(json: [1, 2]) }
    }

    @Test func buildsTheSearchBody() throws {
        let filter = try OfferQuery.parse("num_gpus=1 gpu_name=RTX_4090").filter
        let body = filter.requestBody(limit: 50, order: [("dph_total", "asc"), ("reliability", "desc")],
                                      allocatedStorage: nil, type: "bid")
        #expect(body == [
            "verified": ["eq": true], "external": ["eq": false], "rentable": ["eq": true], "num_gpus": ["eq": "1"],
            "gpu_name": ["eq": "RTX 4090"], "order": [["dph_total", "asc"], ["reliability", "desc"]], "type": "bid",
            "limit": 50,
        ])
        #expect(body.jsonText.contains("\"limit\":50"))
    }

    @Test func compiledFormAgreesWithTheFilter() throws {
        let filter = try OfferQuery.parse("gpu_name in [RTX_4090,A100] reliability>0.98 geolocation notin [CN]").filter
        let compiled = CompiledOfferFilter(filter)
        #expect(compiled.matches(Self.offer) == filter.matches(Self.offer))
        #expect(compiled.matches(Self.offer))
        #expect(compiled.terms == filter.terms)
    }
}

extension OfferFilter {
    /// A filter from a literal, for tests where the literal's type needs naming.
    init(_ fields: [String: [OfferOperator: JSONValue]]) {
        self.init(fields: fields)
    }
}
