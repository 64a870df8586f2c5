import ArgumentParser
import ErgonCore
import ErgonVast
import Foundation
import Logging

/// `ergon offers`: the offer selection of vast mode, run dry. It orders nothing, ever.
struct OffersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offers",
        abstract: "Show which Vast offers match the filters and which one would be ordered (orders nothing).",
        discussion: """
            Filters use the query language of `vastai search offers`, starting from its defaults \
            (verified=true external=false rentable=true); Ergon adds num_gpus=1 rented=false and sends the \
            disk it would ask for as allocated_storage, so prices include storage. With --image and \
            vast_api.prefer_warm_hosts_within, a machine that ran the image lately (as the agent remembers in \
            <cache dir>/vast-warm-hosts.json) is chosen when its price is within that margin of the cheapest. \
            An offer whose host stays available (duration) less than --timeout plus vast_api.lifetime_margin \
            is never chosen: the search asks only for hosts that stay that long, as the agent's does.
            """)

    @Option(name: .long, help: "The configuration file (default: ergon.yaml; optional with --print-request).")
    var config: String?
    @Option(name: .long, help: "Offer filters instead of vast_api.offer_filters, e.g. 'gpu_name=RTX_4090 reliability>0.98'.")
    var filter: String?
    @Option(name: .long, help: "How many ranked offers to show.")
    var limit: Int = 10
    @Option(name: .customLong("disk-gb"), help: "The disk to ask for, in GB (default: vast_api.disk_gb).")
    var diskGB: Double?
    @Option(name: .long, help: """
        The task's image: its warm hosts count (vast_api.prefer_warm_hosts_within), and for the effective_cost \
        ranking its size is read from its registry's manifest; default: none.
        """)
    var image: String?
    @Option(name: .long, help: """
        The task's slug: with --image, the median run time of its past runs in the configured queue is the \
        effective_cost ranking's run time when --expected-runtime is not given.
        """)
    var slug: String?
    @Option(name: .long, help: ArgumentHelp(
        "The task's timeout (90m, 24h, 2d): offers whose host leaves sooner than it plus vast_api.lifetime_margin are left out (default: scheduler.default_timeout).",
        valueName: "duration"))
    var timeout: String?
    @Option(name: .long, help: "How to order the matching offers: price or effective_cost (default: vast_api.ranking).")
    var ranking: String?
    @Option(name: .customLong("expected-runtime"), help: ArgumentHelp(
        "The task's expected run time, for the effective_cost ranking (default: past runs of --slug and --image, else the timeout).",
        valueName: "duration"))
    var expectedRuntime: String?
    @Option(name: .customLong("image-size"), help: ArgumentHelp(
        "The image's size (8GB, 750MiB), for the effective_cost ranking's download estimate when its registry cannot say (default: 5 GB assumed).",
        valueName: "size"))
    var imageSize: String?
    @Flag(name: .long, help: "Show how many offers each term removed, the ranking's inputs and scores, and whether a warm host was preferred.")
    var explain = false
    @Flag(name: .long, help: """
        Print the JSON body that would be posted to /api/v0/bundles/ and exit: the query's terms with those the agent \
        adds (num_gpus=1 rented=false, the excluded machines, the duration floor for --timeout).
        """)
    var printRequest = false
    @Flag(name: .long, help: "Print JSON.")
    var json = false
    @Flag(name: .customLong("measure-evaluation"), help: .hidden)
    var measureEvaluation = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if let diskGB, diskGB < 8 { throw ValidationError("--disk-gb must be at least 8 (Vast's minimum)") }
        if let ranking, OfferRanking(rawValue: ranking) == nil {
            throw ValidationError("--ranking must be \(OfferRanking.names), got \"\(ranking)\"")
        }
        if let expectedRuntime, (DurationParser.seconds(expectedRuntime) ?? 0) <= 0 {
            throw ValidationError("--expected-runtime: invalid duration \"\(expectedRuntime)\" (expected \(DurationParser.acceptedForms), longer than zero)")
        }
        if let imageSize, (ByteSizeParser.parse(imageSize) ?? 0) <= 0 {
            throw ValidationError("--image-size: invalid size \"\(imageSize)\" (expected \(ByteSizeParser.acceptedForms), more than zero)")
        }
        if slug != nil, image == nil {
            throw ValidationError("--slug needs --image: past runs are those of the same slug and image")
        }
    }

    /// `--timeout` in seconds; nil when not given. Read in `run`, where a `UserError` exits 2.
    func timeoutSeconds() throws -> TimeInterval? {
        guard let timeout else { return nil }
        guard let seconds = DurationParser.seconds(timeout), seconds > 0 else {
            throw UserError("--timeout: invalid duration \"\(timeout)\" (expected \(DurationParser.acceptedForms), longer than zero)")
        }
        return seconds
    }

    func run() async throws {
        let givenTimeout = try timeoutSeconds()
        let (settings, cacheDirectory, defaultTimeout, loaded) = try loadSettings()
        let rankingName = ranking.flatMap(OfferRanking.init(rawValue:)) ?? settings.ranking
        // The machines the agent keeps away from are left out here too, as its launch would.
        let excluded = await excludedMachines(cacheDirectory: cacheDirectory)
        let lifetime = OfferLifetime(timeout: givenTimeout ?? defaultTimeout, settings: settings)
        let selection: OfferSelection
        do {
            selection = try OfferSelection.make(
                agentFilters: filter ?? settings.offerFilters, excludedMachines: excluded.map(\.machine), maxDPH: settings.maxDPH,
                diskGB: diskGB ?? settings.diskGB, limit: max(limit, 64), lifetime: lifetime)
        } catch {
            throw UserError("\(filter != nil ? "--filter" : "\(config ?? "ergon.yaml"): vast_api.offer_filters"): \(error)")
        }
        if printRequest {
            print(String(decoding: selection.requestBody.encoded(pretty: true), as: UTF8.self))
            return
        }
        guard let key = settings.apiKey, let url = URL(string: settings.url) else {
            throw UserError("\(config ?? "ergon.yaml"): vast_api.api_key: required to search offers (e.g. api_key: ${VAST_API_KEY})")
        }
        let (offers, everything, registryBytes) = try await VastClient.withClient(baseURL: url, apiKey: key) { client in
            let offers: [VastOffer]
            let everything: [VastOffer]?
            do {
                offers = try await client.searchOffers(body: selection.requestBody)
                everything = explain || measureEvaluation
                    ? try await client.searchOffers(body: Self.unfilteredBody(selection)) : nil
            } catch let error as VastError {
                throw EnvironmentError("searching offers at \(settings.url): \(error)")
            }
            guard rankingName == .effectiveCost, let image else { return (offers, everything, Int64?.none) }
            return (offers, everything, await Self.registrySize(of: image, registries: settings.registries, client: client))
        }
        if measureEvaluation, let everything {
            Self.measure(selection, on: everything)
            return
        }
        let now = Date()
        let warm = await warmMachines(settings: settings, cacheDirectory: cacheDirectory)
        let pastRuns = rankingName == .effectiveCost && expectedRuntime == nil ? try await pastRunTimes(config: loaded) : []
        let ordered = await OfferSelection.order(selection.rank(offers), by: rankingName) {
            await EffectiveCost.Inputs.gather(
                registryImageBytes: registryBytes, imageSizeHint: imageSize.flatMap(ByteSizeParser.parse),
                expectedRuntime: expectedRuntime.flatMap(DurationParser.seconds), pastRuns: pastRuns, timeout: lifetime.timeout,
                hosts: hostRecord(cacheDirectory: cacheDirectory))
        }
        let scores = ordered.scores
        let (ranked, warmChoice) = OfferSelection.preferWarm(
            ordered.offers, warm: warm, within: settings.preferWarmHostsWithin, image: image ?? "")
        let funnel = everything.map { OfferFunnel(selection: selection, offers: $0) }
        if json {
            try printJSON(OffersJSON(
                request: selection.requestBody, returned: offers.count, offers: ranked.prefix(limit).map(OfferRow.init),
                chosen: ranked.first.map(OfferRow.init), funnel: funnel, lifetime: lifetime, warmHost: warmChoice,
                excludedMachines: excluded, ranking: rankingName.rawValue, scores: Array(scores.prefix(limit))))
            return
        }
        print(OfferRow.table(ranked.prefix(limit).map(OfferRow.init)))
        if let funnel {
            print("\nfunnel: \(funnel.total) offers with room for \(OfferFunnel.number(selection.diskGB)) GB of disk, before any filter term")
            let width = max(44, funnel.steps.map(\.term.count).max() ?? 0)
            for step in funnel.steps {
                print("  \(step.term.padded(width)) removed \(String(step.removed).leftPadded(6))  left \(String(step.left).leftPadded(6))")
            }
        }
        if explain {
            print("\nlifetime: a host must stay available \(Reconciler.format(lifetime.minimum)): the task's timeout "
                + "\(Reconciler.format(lifetime.timeout)) (\(timeout != nil ? "--timeout" : "scheduler.default_timeout")) "
                + "+ vast_api.lifetime_margin \(Reconciler.format(lifetime.margin)); the search asks for duration gte "
                + "\(OfferFunnel.number(lifetime.minimum)) (seconds)")
            if let costInputs = ordered.inputs {
                print("\n" + Self.scoreTable(costInputs, scores: Array(scores.prefix(limit))))
            } else {
                print("\nranking: price (cheapest dph_total first, higher reliability on ties)")
            }
            if excluded.isEmpty {
                print("\nexcluded machines: none (no failures on record\(cacheDirectory == nil ? ", no config" : ""))")
            } else {
                print("\nexcluded machines (\(excluded.count), from the agent's host record):")
                for exclusion in excluded {
                    print("  machine \(exclusion.machine) until \(TaskTable.time(exclusion.until)): \(exclusion.reason)")
                }
            }
        }
        if let warmChoice {
            print("\nwarm host: \(warmChoice.summary(now: now))")
        } else if explain, let margin = settings.preferWarmHostsWithin {
            print("\n" + Self.warmNote(margin: margin, image: image, warm: warm, ranked: ranked))
        } else if explain, image != nil {
            print("\nwarm hosts: not considered (vast_api.prefer_warm_hosts_within is not set)")
        }
        let dropped = offers.count - ranked.count
        let note = dropped > 0 ? " (\(dropped) returned offer(s) dropped by the local check, the lifetime rule or the price cap)" : ""
        if let best = ranked.first {
            print("\nwould order offer \(best.id) on machine \(best.machineID): \(best.gpuName) at $\(String(format: "%.4f", best.dphTotal))/h, reliability \(String(format: "%.3f", best.reliability))\(note)")
        } else {
            print("\nno offer matches: nothing would be ordered\(note)")
            throw ExitCode(1)
        }
    }

    /// The settings to use: the config's `vast_api`, cache directory and default task timeout
    /// (seconds), and the configuration; or the defaults (no cache, no configuration) when
    /// `--print-request` runs without a config file.
    func loadSettings() throws -> (
        vast: ErgonConfig.Vast, cacheDirectory: String?, defaultTimeout: TimeInterval, config: ErgonConfig?
    ) {
        let path = config ?? "ergon.yaml"
        if printRequest, config == nil, !FileManager.default.fileExists(atPath: path) {
            return (ErgonConfig.Vast(), nil, ErgonConfig.Scheduler().defaultTimeout.seconds, nil)
        }
        var option = ConfigOption()
        option.config = path
        let loaded = try option.load()
        return (loaded.vast, loaded.cacheDirectory, loaded.scheduler.defaultTimeout.seconds, loaded)
    }

    /// The run times of `--slug`'s past runs on `--image` in the configured queue (as the
    /// agent's launch reads them); none without `--slug`.
    func pastRunTimes(config: ErgonConfig?) async throws -> [TimeInterval] {
        guard let slug, let image, let config else { return [] }
        let queue = try await config.openQueue()
        do {
            return try await queue.pastRunTimes(slug: slug, image: image, limit: Scheduler.pastRunsConsidered)
        } catch {
            throw EnvironmentError("reading past runs of \(slug) from the queue \(config.queue): \(error)")
        }
    }

    /// The compressed size of `image` from its registry's manifest; nil, with a note on
    /// standard error, when the registry cannot say (the launch falls back the same way).
    static func registrySize(of image: String, registries: [ErgonConfig.RegistryAuth], client: VastClient) async -> Int64? {
        do {
            if let bytes = try await client.registryImageConfig(registries: registries).configuration(of: image)?.compressedBytes {
                return bytes
            }
            FileHandle.standardError.write(Data("ergon: the manifest of \(image) gives no layer sizes; using --image-size\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("ergon: the size of \(image) could not be read from its registry (\(error)); using --image-size\n".utf8))
        }
        return nil
    }

    /// The machines the agent keeps away from now (``HostReputation``), from its record.
    func excludedMachines(cacheDirectory: String?) async -> [HostReputation.Exclusion] {
        guard let cacheDirectory else { return [] }
        var logger = Logger(label: "ergon.offers")
        logger.logLevel = .warning
        return await HostReputation(path: HostReputation.path(cacheDirectory: cacheDirectory), logger: logger).exclusions()
    }

    /// The agent's host record (memory only without a cache directory).
    func hostRecord(cacheDirectory: String?) -> HostReputation {
        var logger = Logger(label: "ergon.offers")
        logger.logLevel = .warning
        return HostReputation(path: cacheDirectory.map { HostReputation.path(cacheDirectory: $0) }, logger: logger)
    }

    /// The effective_cost ranking's inputs and the top offers' figures, for `--explain`.
    static func scoreTable(_ inputs: EffectiveCost.Inputs, scores: [EffectiveCost.Score]) -> String {
        var lines = [
            "ranking: effective_cost: dph x (provisioning + run) + P(failure) x dph x (provisioning + run/2)",
            "  image size: " + (inputs.imageBytes.map { String(format: "%.2f GB", $0 / 1e9) } ?? "-") + " (\(inputs.imageSizeSource))",
            "  run: \(Reconciler.format(inputs.runSeconds)) (\(inputs.runSource))",
            "  OFFER       $/H      PROVISIONING  P(FAIL)  EXPECTED $  PROVISIONING FROM",
        ]
        for score in scores {
            lines.append("  " + [
                String(score.offerID).padded(10), String(format: "%.4f", score.dph).padded(7),
                Reconciler.format(score.provisioningSeconds).padded(12), String(format: "%.3f", score.failureProbability).padded(7),
                String(format: "%.4f", score.dollars).padded(10), score.provisioningSource,
            ].joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// The machines that ran `--image` lately, from the record the agent keeps; none without
    /// `--image` or a margin.
    func warmMachines(settings: ErgonConfig.Vast, cacheDirectory: String?) async -> [Int: Date] {
        guard let image, settings.preferWarmHostsWithin != nil, let cacheDirectory else { return [:] }
        var logger = Logger(label: "ergon.offers")
        logger.logLevel = .warning
        return await WarmHosts(path: WarmHosts.path(cacheDirectory: cacheDirectory), logger: logger).machines(for: image)
    }

    /// Why no warm host was preferred, for `--explain`.
    static func warmNote(margin: Double, image: String?, warm: [Int: Date], ranked: [VastOffer]) -> String {
        let within = "prefer_warm_hosts_within \(OfferSelection.WarmChoice.percent(margin))"
        guard let image else { return "warm hosts: not considered (no --image)" }
        guard !warm.isEmpty else { return "warm hosts: no machine ran \(image) in the last \(Int(WarmHosts.retention / 86400)) days (\(within))" }
        if let cheapest = ranked.first, warm[cheapest.machineID] != nil {
            return "warm hosts: the cheapest offer's machine \(cheapest.machineID) already ran \(image)"
        }
        return "warm hosts: none of the \(warm.count) machine(s) that ran \(image) lately is offered within \(within) of the cheapest"
    }

    /// For `Scripts/bench offers`: how many offers per second the local evaluator checks,
    /// on one core, over the unfiltered market, for about a second.
    static func measure(_ selection: OfferSelection, on offers: [VastOffer]) {
        let objects = offers.compactMap(\.raw.objectValue)
        guard !objects.isEmpty else { return print("no offers to evaluate") }
        let filter = selection.filter.compiled
        var checks = 0
        var matching = 0
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(1) {
            for offer in objects where filter.matches(offer) { matching += 1 }
            checks += objects.count
        }
        let seconds = (ContinuousClock.now - start).seconds
        print(String(format: "evaluated %d offer checks in %.2f s: %.0f offers/s (%d matches per pass of %d)",
                     checks, seconds, Double(checks) / seconds, matching / max(1, checks / objects.count), objects.count))
    }

    /// The same search without any filter term, for the funnel's starting point.
    static func unfilteredBody(_ selection: OfferSelection) -> JSONValue {
        OfferFilter().requestBody(limit: 100_000, allocatedStorage: selection.diskGB)
    }
}

/// One offer as `ergon offers` shows it.
struct OfferRow: Encodable {
    let id: Int
    let machine: Int
    let gpu: String
    let dph: Double
    let reliability: Double
    let inetDown: Double?
    let country: String?
    let cuda: Double?
    let maxDurationDays: Double?

    init(_ offer: VastOffer) {
        id = offer.id
        machine = offer.machineID
        gpu = offer.gpuName
        dph = offer.dphTotal
        reliability = offer.reliability
        inetDown = offer.inetDown
        country = offer.geolocation.map { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? $0 }
        cuda = offer.cudaMaxGood
        maxDurationDays = offer.duration.map { $0 / 86400 }
    }

    static func table(_ rows: [OfferRow]) -> String {
        var lines = ["OFFER       MACHINE  GPU               $/H      RELIAB  INET↓ Mb/s  CC  CUDA  MAX DAYS"]
        for row in rows {
            lines.append([
                String(row.id).padded(10), String(row.machine).padded(7), row.gpu.padded(16),
                String(format: "%.4f", row.dph).padded(7), String(format: "%.3f", row.reliability).padded(6),
                (row.inetDown.map { String(format: "%.0f", $0) } ?? "-").padded(10), (row.country ?? "-").padded(2),
                (row.cuda.map { String(format: "%.1f", $0) } ?? "-").padded(4),
                row.maxDurationDays.map { String(format: "%.1f", $0) } ?? "-",
            ].joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}

/// `ergon offers --json` output.
struct OffersJSON: Encodable {
    let request: JSONValue
    let returned: Int
    let offers: [OfferRow]
    let chosen: OfferRow?
    let funnel: OfferFunnel?
    /// The rule on the hosts' `duration`: the timeout, the margin and their sum, in seconds.
    let lifetime: OfferLifetime
    /// The warm machine preferred over the cheapest offer, if one was.
    let warmHost: OfferSelection.WarmChoice?
    /// The machines left out because of failures there (the agent's host record).
    let excludedMachines: [HostReputation.Exclusion]
    /// `price` or `effective_cost`.
    let ranking: String
    /// With `effective_cost`: the top offers' figures and expected dollars, in the ranking's
    /// order (``offers`` may differ by a warm host moved to the front).
    let scores: [EffectiveCost.Score]
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
