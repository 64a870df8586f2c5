/// An NVIDIA driver a host may run, and the newest CUDA it supports.
struct DriverRelease: Sendable {
    /// The version as offers report it (`535.104.05`).
    var version: String
    /// `cuda_max_good`.
    var cuda: Double

    var major: Int { Int(version.split(separator: ".").first ?? "") ?? 0 }

    static let releases: [DriverRelease] = [
        DriverRelease(version: "470.223.02", cuda: 11.4),
        DriverRelease(version: "525.147.05", cuda: 12.0),
        DriverRelease(version: "535.86.05", cuda: 12.2),
        DriverRelease(version: "535.104.05", cuda: 12.2),
        DriverRelease(version: "535.183.01", cuda: 12.2),
        DriverRelease(version: "545.29.06", cuda: 12.3),
        DriverRelease(version: "550.54.15", cuda: 12.4),
        DriverRelease(version: "550.127.05", cuda: 12.4),
        DriverRelease(version: "560.35.03", cuda: 12.6),
        DriverRelease(version: "565.57.01", cuda: 12.7),
        DriverRelease(version: "570.124.06", cuda: 12.8),
        DriverRelease(version: "575.57.08", cuda: 12.9),
    ]
}
