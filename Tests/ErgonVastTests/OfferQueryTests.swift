import Testing

@testable import ErgonVast

@Suite struct OfferQueryTests {
    private func parse(_ text: String, defaults: OfferQuery = .cliDefaults) throws -> JSONValue {
        try OfferQuery.parse(text, defaults: defaults).filter.json
    }

    private func rejection(_ text: String, defaults: OfferQuery = .cliDefaults) -> OfferQueryError? {
        do {
            _ = try OfferQuery.parse(text, defaults: defaults)
            return nil
        } catch {
            return error
        }
    }

    @Test func startsFromTheCLIDefaults() throws {
        #expect(try parse("") == ["verified": ["eq": true], "external": ["eq": false], "rentable": ["eq": true]])
        #expect(try parse("   ", defaults: .empty) == [:])
        #expect(OfferQuery.empty.filter.fields.isEmpty)
    }

    @Test func keepsNumbersAsStringsAndConvertsWordsAndUnits() throws {
        let json = try parse(
            "num_gpus=1 gpu_name=RTX_4090 gpu_ram>=24 duration>2 driver_version>=535.86.05 verified=False min_bid=None",
            defaults: .empty)
        #expect(json == [
            "num_gpus": ["eq": "1"], "gpu_name": ["eq": "RTX 4090"], "gpu_ram": ["gte": 24000.0],
            "duration": ["gt": 172800.0], "driver_version": ["gte": 535086005], "verified": ["eq": false],
            "min_bid": ["eq": nil],
        ])
    }

    @Test(arguments: [
        ("dph<0.5", "dph_total"), ("cuda_vers>=12.1", "cuda_max_good"), ("dlperf_usd>1", "dlperf_per_dphtotal"),
        ("flops_usd>1", "flops_per_dphtotal"), ("display_active=true", "gpu_display_active"),
    ])
    func resolvesAliases(query: String, field: String) throws {
        let filter = try OfferQuery.parse(query, defaults: .empty).filter
        #expect(Array(filter.fields.keys) == [field])
    }

    @Test func overridesDefaultsPerOperatorAndDropsWildcards() throws {
        #expect(try parse("verified=false")["verified"] == ["eq": false])
        #expect(try parse("verified!=true")["verified"] == ["eq": true, "neq": true])
        #expect(try parse("verified=any external=*")["verified"] == nil)
        #expect(try parse("verified=any external=*")["external"] == nil)
        #expect(try parse("gpu_name=A100 gpu_name=any gpu_name in [H100]")["gpu_name"] == ["in": ["H100"]])
        #expect(try parse("num_gpus>=1 num_gpus<=4")["num_gpus"] == ["gte": "1", "lte": "4"])
    }

    @Test func listsQuotesAndUnderscores() throws {
        #expect(try parse("geolocation in [US, CA]")["geolocation"] == ["in": ["US", "CA"]])
        #expect(try parse("gpu_name not in [\"RTX 4090\",A_100]")["gpu_name"] == ["notin": ["RTX 4090", "A 100"]])
        #expect(try parse("gpu_name=\"RTX 4090\"")["gpu_name"] == ["eq": "RTX 4090"])
        #expect(try parse("gpu_name nin [A100]")["gpu_name"] == ["notin": ["A100"]])
    }

    @Test(arguments: [
        ("num_gpus=>1", "=>", OfferQueryError.Code.unknownOperator),
        ("num_gpus 1", "num_gpus 1", .unknownOperator),
        ("verified", "verified", .unknownOperator),
        ("num_gpus not  eq 1", "num_gpus not", .unknownOperator),
        ("num_gpus=", "num_gpus=", .blankValue),
        ("num_gpus >", "num_gpus >", .blankValue),
        ("gpu_name in [,]", "gpu_name in [,]", .blankValue),
        ("gpu_name>any", "gpu_name>any", .wildcardOperator),
        ("gpu_name!=*", "gpu_name!=*", .wildcardOperator),
        ("gpu_ram=lots", "gpu_ram=lots", .invalidNumber),
        ("gpu_ram=inf", "gpu_ram=inf", .invalidNumber),
        ("gpu_ram in [24,48]", "gpu_ram in [24,48]", .invalidValue),
        ("driver_version in [535.86.05]", "driver_version in [535.86.05]", .invalidValue),
        ("driver_version=535.86", "driver_version=535.86", .invalidValue),
        ("driver_version=0.0.0", "driver_version=0.0.0", .invalidValue),
        ("-num_gpus=1", "-num_gpus=1", .unconsumedText),
        ("num_gpus=1 \"x\"", "\"x\"", .unconsumedText),
    ])
    func rejectsWhatTheCLIRejects(query: String, token: String, code: OfferQueryError.Code) throws {
        let error = try #require(rejection(query))
        #expect(error.code == code)
        #expect(error.token == token)
        #expect(error.description.contains("\"\(token)\""))
    }

    @Test func pointsAtTheOffendingToken() throws {
        let spaced = try #require(rejection("num_gpus=1 gpu_name=RTX 4090"))
        #expect(spaced.code == .unknownOperator)
        #expect(spaced.token == "4090")
        #expect(spaced.position == 24)
        #expect(spaced.message.contains("RTX_4090"))

        let symbol = try #require(rejection("reliability=>0.9"))
        #expect(symbol.position == 11)
        #expect(symbol.description.hasPrefix("at \"=>\" (column 12): unknown operator"))
    }

    @Test func rejectsUnknownFieldsWithASuggestion() throws {
        let error = try #require(rejection("gpu_nme=RTX_4090"))
        #expect(error.code == .unknownField)
        #expect(error.position == 0)
        #expect(error.description == #"at "gpu_nme" (column 1): unknown field "gpu_nme" (did you mean "gpu_name"?)"#)

        let later = try #require(rejection("num_gpus=1  relability>0.9"))
        #expect(later.token == "relability")
        #expect(later.position == 12)
        #expect(later.message.contains("\"reliability\""))

        let alias = try #require(rejection("dhp<1"))
        #expect(alias.message.contains("did you mean \"dph\""))

        let nothingClose = try #require(rejection("colour=red"))
        #expect(nothingClose.message == #"unknown field "colour""#)
    }

    @Test func columnsCountCharactersOfTheOriginalText() throws {
        // "U\u{0308}" is one character but two code points.
        let error = try #require(rejection("  gpu_name=\"U\u{0308}nicode\" bogus=1"))
        #expect(error.token == "bogus")
        #expect(error.position == 21)
    }

    @Test func ergonRefusesMoreThanOneGPU() throws {
        try OfferQuery.parse("num_gpus=1").validateForErgon()
        try OfferQuery.parse("num_gpus eq 1.0 gpu_name=A100").validateForErgon()
        try OfferQuery.parse("gpu_name=A100").validateForErgon()
        try OfferQuery.parse("num_gpus=4 num_gpus=any").validateForErgon()

        for query in ["num_gpus=2", "num_gpus>=1", "num_gpus in [1]", "num_gpus=1 num_gpus<=2"] {
            let parsed = try OfferQuery.parse(query)
            #expect(throws: OfferQueryError.self, "\(query)") { try parsed.validateForErgon() }
        }
        do {
            try OfferQuery.parse("gpu_name=A100 num_gpus=2").validateForErgon()
            Issue.record("num_gpus=2 passed")
        } catch {
            #expect(error.code == .refusedByErgon)
            #expect(error.token == "num_gpus=2")
            #expect(error.position == 14)
            #expect(error.message.contains("num_gpus must be 1"))
        }
        let built = OfferQuery(filter: ["num_gpus": [.gte: 2]])
        #expect(throws: OfferQueryError.self) { try built.validateForErgon() }
    }
}
