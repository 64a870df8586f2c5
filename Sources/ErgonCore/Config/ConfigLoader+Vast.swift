import Foundation

extension ConfigLoader {
    static let vastKeys = [
        "url", "api_key", "offer_filters", "disk_gb", "max_dph", "max_offers_tried", "provisioning_timeout", "registries",
        "prefer_warm_hosts_within", "lifetime_margin", "log_reads_per_second", "acceptance_check",
        "ranking", "check_image_shell",
    ]
    static let acceptanceCheckKeys = ["command", "timeout", "max_rejections"]

    /// Reads `vast_api`. The filters are checked here, at load, so `ergon config check` and
    /// the agent's start catch a bad term before anything is rented.
    static func readVast(_ section: DocumentNode?, checkOfferFilters: OfferFilterCheck?) throws(DocumentNode.Fault) -> ErgonConfig.Vast {
        var vast = ErgonConfig.Vast()
        guard let section else { return vast }
        let fields = try section.fields(allowed: vastKeys)
        if let node = fields["url"] {
            let value = try node.nonEmptyString("the API's base URL, e.g. https://console.vast.ai")
            guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                url.query == nil
            else {
                throw node.fault(.invalidValue, "invalid URL \(node.shown) (expected http(s)://HOST[:PORT], e.g. https://console.vast.ai)")
            }
            vast.url = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let node = fields["api_key"], !node.isNull {
            let key = try node.nonEmptyString("the account's API key, e.g. ${VAST_API_KEY}")
            guard !key.contains(where: { $0.isWhitespace }) else {
                throw node.fault(.invalidValue, "the API key holds whitespace (check the variable it comes from)")
            }
            vast.apiKey = key
        }
        if let node = fields["offer_filters"], !node.isNull {
            let text = try node.string()
            if let problem = checkOfferFilters?(text) { throw node.fault(.invalidValue, problem) }
            vast.offerFilters = text
        }
        if let node = fields["disk_gb"] {
            let disk = try node.number()
            guard disk >= 8, disk <= 100_000 else {
                throw node.fault(.invalidValue, "disk_gb must be between 8 (Vast's minimum) and 100000, got \(node.shown)")
            }
            vast.diskGB = disk
        }
        if let node = fields["max_dph"], !node.isNull {
            let cap = try node.number()
            guard cap > 0 else { throw node.fault(.invalidValue, "max_dph must be a price per hour above 0, got \(node.shown)") }
            vast.maxDPH = cap
        }
        if let node = fields["max_offers_tried"] { vast.maxOffersTried = try node.int(atLeast: 1) }
        if let node = fields["provisioning_timeout"] { vast.provisioningTimeout = try node.duration(positive: true) }
        if let node = fields["registries"] { vast.registries = try readRegistries(node) }
        if let node = fields["prefer_warm_hosts_within"], !node.isNull { vast.preferWarmHostsWithin = try node.percentage() }
        if let node = fields["lifetime_margin"] { vast.lifetimeMargin = try node.duration(positive: false) }
        if let node = fields["log_reads_per_second"] {
            let rate = try node.number()
            guard rate > 0, rate <= 1000 else {
                throw node.fault(.invalidValue, "log_reads_per_second must be above 0 and at most 1000, got \(node.shown)")
            }
            vast.logReadsPerSecond = rate
        }
        if let node = fields["acceptance_check"], !node.isNull { vast.acceptanceCheck = try readAcceptanceCheck(node) }
        if let node = fields["ranking"] {
            guard let ranking = OfferRanking(rawValue: try node.nonEmptyString(OfferRanking.names)) else {
                throw node.fault(.invalidValue, "unknown ranking \(node.shown) (expected \(OfferRanking.names))")
            }
            vast.ranking = ranking
        }
        if let node = fields["check_image_shell"] { vast.checkImageShell = try node.bool() }
        return vast
    }

    /// `acceptance_check`: a command (`nvidia-smi`), or `{command, timeout, max_rejections}`.
    static func readAcceptanceCheck(_ node: DocumentNode) throws(DocumentNode.Fault) -> AcceptanceCheck {
        guard node.isMapping else {
            return AcceptanceCheck(command: try node.nonEmptyString("a shell command such as \"nvidia-smi\""))
        }
        let fields = try node.fields(allowed: acceptanceCheckKeys)
        guard let commandNode = fields["command"] else {
            throw node.fault(.invalidValue, "has no command (e.g. command: nvidia-smi)")
        }
        var check = AcceptanceCheck(command: try commandNode.nonEmptyString("a shell command such as \"nvidia-smi\""))
        if let timeoutNode = fields["timeout"] {
            check.timeout = try timeoutNode.duration(positive: true)
            guard check.timeout <= .seconds(3600) else {
                throw timeoutNode.fault(.invalidValue, "an acceptance check is meant to be short: at most 1h, got \(timeoutNode.shown)")
            }
        }
        if let countNode = fields["max_rejections"] { check.maxRejections = try countNode.int(atLeast: 0) }
        return check
    }
}
