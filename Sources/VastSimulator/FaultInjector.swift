/// Decides, request by request, whether a ``FaultPlan`` fires: the plan's rules, their counters
/// and the seeded generator. A value type owned by the simulator's state actor.
struct FaultInjector: Sendable {
    private(set) var plan: FaultPlan
    private var random: SeededGenerator
    private var seen: [Int]
    private var fired: [Int]
    /// How many times each kind fired.
    private(set) var firedByKind: [FaultKind: Int] = [:]

    init(plan: FaultPlan, defaultSeed: UInt64) {
        self.plan = plan
        self.random = SeededGenerator(seed: plan.seed ?? defaultSeed, stream: 2)
        self.seen = Array(repeating: 0, count: plan.rules.count)
        self.fired = Array(repeating: 0, count: plan.rules.count)
    }

    /// The rule that fires for this request to `endpoint`, if any.
    mutating func decide(_ endpoint: SimulatorEndpoint) -> FaultRule? {
        for (index, rule) in plan.rules.enumerated() where rule.applies(to: endpoint) {
            seen[index] += 1
            if seen[index] <= rule.after { continue }
            if let times = rule.times, fired[index] >= times { continue }
            let draw = Double.random(in: 0..<1, using: &random)
            guard draw < rule.rate else { continue }
            fired[index] += 1
            firedByKind[rule.kind, default: 0] += 1
            return rule
        }
        return nil
    }
}
