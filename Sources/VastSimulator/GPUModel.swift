/// A GPU model of the simulated market, with the figures Vast reports for it and the band its
/// hourly price per GPU falls in.
struct GPUModel: Sendable {
    /// Vast's spelling (`RTX 4090`).
    var name: String
    /// Memory per GPU in MB, as offers report `gpu_ram`.
    var ramMB: Int
    /// The usual on-demand price of one GPU, $/hour.
    var price: ClosedRange<Double>
    /// CUDA compute capability × 100.
    var computeCap: Int
    /// Vast's DL-perf score of one GPU.
    var dlperf: Double
    /// FP32 TFLOPs of one GPU.
    var tflops: Double
    /// Memory bandwidth, GB/s.
    var memoryBandwidth: Double
    /// Power limit, watts.
    var maxPower: Double
    /// NVLink bandwidth between GPUs of a machine, GB/s (0 for consumer cards).
    var nvlink: Double
    /// How common the model is on the market (relative weight).
    var weight: Double
    /// The oldest driver major version hosts of this model run.
    var minimumDriverMajor: Int
    /// True for data-centre cards: mostly in 4- and 8-GPU machines in data centres.
    var isDatacenter: Bool

    /// The models on offer. Figures are rounded public numbers: plausible, not authoritative.
    static let catalogue: [GPUModel] = [
        GPUModel(name: "RTX 3060", ramMB: 12288, price: 0.04...0.10, computeCap: 860, dlperf: 10.5, tflops: 12.7,
                 memoryBandwidth: 360, maxPower: 170, nvlink: 0, weight: 8, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX 3070", ramMB: 8192, price: 0.05...0.12, computeCap: 860, dlperf: 13.8, tflops: 20.3,
                 memoryBandwidth: 448, maxPower: 220, nvlink: 0, weight: 4, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX 3080", ramMB: 10240, price: 0.07...0.15, computeCap: 860, dlperf: 19.6, tflops: 29.8,
                 memoryBandwidth: 760, maxPower: 320, nvlink: 0, weight: 5, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX 3090", ramMB: 24576, price: 0.11...0.28, computeCap: 860, dlperf: 24.8, tflops: 35.6,
                 memoryBandwidth: 936, maxPower: 350, nvlink: 0, weight: 16, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX 4070", ramMB: 12282, price: 0.08...0.16, computeCap: 890, dlperf: 20.1, tflops: 29.1,
                 memoryBandwidth: 504, maxPower: 200, nvlink: 0, weight: 4, minimumDriverMajor: 525, isDatacenter: false),
        GPUModel(name: "RTX 4080", ramMB: 16376, price: 0.14...0.30, computeCap: 890, dlperf: 32.4, tflops: 48.7,
                 memoryBandwidth: 717, maxPower: 320, nvlink: 0, weight: 4, minimumDriverMajor: 525, isDatacenter: false),
        GPUModel(name: "RTX 4090", ramMB: 24564, price: 0.24...0.65, computeCap: 890, dlperf: 44.9, tflops: 82.6,
                 memoryBandwidth: 1008, maxPower: 450, nvlink: 0, weight: 22, minimumDriverMajor: 525, isDatacenter: false),
        GPUModel(name: "RTX 5090", ramMB: 32607, price: 0.40...0.95, computeCap: 1200, dlperf: 61.2, tflops: 104.8,
                 memoryBandwidth: 1792, maxPower: 575, nvlink: 0, weight: 6, minimumDriverMajor: 570, isDatacenter: false),
        GPUModel(name: "RTX 2080 Ti", ramMB: 11264, price: 0.05...0.13, computeCap: 750, dlperf: 13.1, tflops: 13.4,
                 memoryBandwidth: 616, maxPower: 250, nvlink: 0, weight: 3, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX A4000", ramMB: 16376, price: 0.08...0.19, computeCap: 860, dlperf: 13.9, tflops: 19.2,
                 memoryBandwidth: 448, maxPower: 140, nvlink: 0, weight: 6, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX A5000", ramMB: 24564, price: 0.14...0.34, computeCap: 860, dlperf: 21.7, tflops: 27.8,
                 memoryBandwidth: 768, maxPower: 230, nvlink: 0, weight: 6, minimumDriverMajor: 470, isDatacenter: false),
        GPUModel(name: "RTX A6000", ramMB: 49140, price: 0.34...0.80, computeCap: 860, dlperf: 30.2, tflops: 38.7,
                 memoryBandwidth: 768, maxPower: 300, nvlink: 112, weight: 7, minimumDriverMajor: 470, isDatacenter: true),
        GPUModel(name: "Tesla V100", ramMB: 16384, price: 0.10...0.32, computeCap: 700, dlperf: 18.4, tflops: 15.7,
                 memoryBandwidth: 900, maxPower: 300, nvlink: 300, weight: 3, minimumDriverMajor: 470, isDatacenter: true),
        GPUModel(name: "A40", ramMB: 46068, price: 0.34...0.70, computeCap: 860, dlperf: 29.6, tflops: 37.4,
                 memoryBandwidth: 696, maxPower: 300, nvlink: 112, weight: 3, minimumDriverMajor: 470, isDatacenter: true),
        GPUModel(name: "A100 PCIE", ramMB: 40960, price: 0.55...1.25, computeCap: 800, dlperf: 52.3, tflops: 19.5,
                 memoryBandwidth: 1555, maxPower: 250, nvlink: 0, weight: 4, minimumDriverMajor: 470, isDatacenter: true),
        GPUModel(name: "A100 SXM4", ramMB: 81920, price: 0.75...1.60, computeCap: 800, dlperf: 63.8, tflops: 19.5,
                 memoryBandwidth: 2039, maxPower: 400, nvlink: 600, weight: 5, minimumDriverMajor: 470, isDatacenter: true),
        GPUModel(name: "L40S", ramMB: 46068, price: 0.48...1.05, computeCap: 890, dlperf: 55.1, tflops: 91.6,
                 memoryBandwidth: 864, maxPower: 350, nvlink: 0, weight: 4, minimumDriverMajor: 525, isDatacenter: true),
        GPUModel(name: "H100 PCIE", ramMB: 81559, price: 1.40...2.60, computeCap: 900, dlperf: 98.7, tflops: 51.2,
                 memoryBandwidth: 2039, maxPower: 350, nvlink: 0, weight: 3, minimumDriverMajor: 525, isDatacenter: true),
        GPUModel(name: "H100 SXM", ramMB: 81559, price: 1.60...3.00, computeCap: 900, dlperf: 121.4, tflops: 66.9,
                 memoryBandwidth: 3352, maxPower: 700, nvlink: 900, weight: 5, minimumDriverMajor: 525, isDatacenter: true),
    ]
}
