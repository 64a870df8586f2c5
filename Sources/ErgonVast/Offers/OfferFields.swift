import ErgonCore

/// The offer fields the query language knows: names, aliases, unit multipliers and value kinds.
///
/// The table mirrors `offers_fields`, `offers_alias` and `offers_mult` of the `vastai` 1.9.1
/// package; the parity test compares it against the installed package so a drift is caught.
public enum OfferFields {
    /// How values of a field compare when a filter is evaluated against an offer.
    public enum Kind: Sendable, Hashable {
        /// Compared as numbers; numeric strings and booleans (1/0) are coerced.
        case number
        /// Compared as booleans; `"true"`/`"True"`/1 and `"false"`/`"False"`/0 are coerced.
        case bool
        /// Compared as exact strings, even when they look like numbers (`"22.04"`).
        case string
        /// A dotted driver version, compared as the integer the CLI encodes (`535.86.05` → 535086005).
        case version
    }

    /// Every field name `vastai search offers` recognises, with the kind its values compare as.
    public static let kinds: [String: Kind] = {
        var table: [String: Kind] = [:]
        for name in numberFields { table[name] = .number }
        for name in boolFields { table[name] = .bool }
        for name in stringFields { table[name] = .string }
        table["driver_version"] = .version
        return table
    }()

    /// The known field names, sorted.
    public static let names: [String] = kinds.keys.sorted()

    /// Short names the CLI rewrites to the real field before anything else.
    public static let aliases: [String: String] = [
        "cuda_vers": "cuda_max_good",
        "display_active": "gpu_display_active",
        "dlperf_usd": "dlperf_per_dphtotal",
        "dph": "dph_total",
        "flops_usd": "flops_per_dphtotal",
    ]

    /// Fields whose values users give in friendlier units; the CLI multiplies them before sending
    /// (GB → MB for memory, days → seconds for duration) and always sends a float.
    public static let multipliers: [String: Double] = [
        "cpu_ram": 1000,
        "gpu_ram": 1000,
        "gpu_total_ram": 1000,
        "duration": 24.0 * 60.0 * 60.0,
    ]

    /// Whether `name` is a known field (aliases are not fields; resolve them first).
    public static func isKnown(_ name: String) -> Bool { kinds[name] != nil }

    /// The kind of a known field; nil for a field the table does not know.
    public static func kind(of name: String) -> Kind? { kinds[name] }

    /// The real field behind `name`: the alias target, or `name` itself.
    public static func resolve(_ name: String) -> String { aliases[name] ?? name }

    /// The known field or alias `name` most likely meant, for "did you mean" hints.
    public static func closest(to name: String) -> String? {
        KeySuggestion.closest(to: name, among: names + aliases.keys.sorted())
    }

    private static let numberFields = [
        "bw_nvlink", "cluster_id", "compute_cap", "cpu_cores", "cpu_cores_effective", "cpu_ghz",
        "cpu_ram", "cuda_max_good", "direct_port_count", "disk_bw", "disk_space", "dlperf",
        "dlperf_per_dphtotal", "dph_total", "duration", "flops_per_dphtotal", "gpu_frac",
        "gpu_max_power", "gpu_max_temp", "gpu_mem_bw", "gpu_ram", "gpu_total_ram", "host_id", "id",
        "inet_down", "inet_down_cost", "inet_up", "inet_up_cost", "machine_id", "min_bid", "num_gpus",
        "pci_gen", "pcie_bw", "reliability", "storage_cost", "total_flops",
    ]

    private static let boolFields = [
        "datacenter", "external", "gpu_display_active", "has_avx", "rentable", "rented", "static_ip",
        "verified", "vms_enabled",
    ]

    // The CLI help calls these strings; `ubuntu_version` stays a string so "22.04" is not 22.04.
    private static let stringFields = [
        "cpu_arch", "geolocation", "gpu_arch", "gpu_name", "mobo_name", "ubuntu_version", "verification",
    ]
}
