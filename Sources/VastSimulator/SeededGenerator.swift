import Foundation

/// A deterministic random number generator (SplitMix64): the same seed gives the same market and
/// the same fault decisions, so a failing run can be replayed.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    init(seed: UInt64) {
        self.state = seed
    }

    /// A generator for one purpose (market, faults, …) derived from a shared seed, so drawing
    /// more numbers for one purpose never shifts the numbers of another.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0xA24B_AED4_963E_E407))
        self.state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }

    /// One of `choices`, picked with the given weights.
    mutating func weighted<T>(_ choices: [(T, Double)]) -> T {
        let total = choices.reduce(0) { $0 + $1.1 }
        var point = Double.random(in: 0..<total, using: &self)
        for (value, weight) in choices {
            if point < weight { return value }
            point -= weight
        }
        return choices[choices.count - 1].0
    }

    /// A value spread evenly in log space, for quantities that span orders of magnitude (bandwidth).
    mutating func logUniform(_ range: ClosedRange<Double>) -> Double {
        let value = Double.random(in: log(range.lowerBound)...log(range.upperBound), using: &self)
        return exp(value)
    }
}
