import ErgonVast
import Foundation
import Logging

/// The simulated Vast account and market: the one place the simulator's mutable state lives.
///
/// The HTTP layer (``VastSimulatorServer``) turns requests into calls on this actor; tests reach
/// it directly through ``VastSimulatorServer/vast`` to read statistics, inspect instances, change
/// the fault plan or (through the options' clock) move time.
public actor SimulatedVast {
    /// The options it was made with.
    public nonisolated let options: SimulatorOptions
    /// Its clock (the options' clock).
    public nonisolated let clock: SimulatedClock
    /// The market: every offer, rented or not.
    public nonisolated let market: SimulatedMarket
    /// When the market opened: offers' remaining `duration` counts down from here.
    public nonisolated let marketStart: Date
    let logger: Logger

    /// Offers rented through this account: offer id → instance id.
    var rentedOffers: [Int: Int] = [:]
    /// Offers someone else took (the `offer_taken` fault).
    var takenOffers: Set<Int> = []
    /// GPUs still free on each machine.
    var freeGPUs: [Int: Int] = [:]
    /// Every instance ever created, destroyed ones included (they answer `{"instances": null}`).
    var instances: [Int: SimulatedInstance] = [:]
    var nextInstanceID = 21_000_001
    var faults: FaultInjector
    var requestCounts: [SimulatorEndpoint: Int] = [:]
    var createdCount = 0
    var createsPerLabel: [String: Int] = [:]
    /// Log texts prepared by `request_logs`, by token, oldest first.
    var logResults: [String: LogResult] = [:]
    var logResultOrder: [String] = []
    /// The Docker side in `--docker` mode, attached when the server starts.
    var docker: DockerRunner?

    /// A log text waiting at its `result_url`.
    struct LogResult: Sendable {
        var text: String
        /// 404s still to answer before the text.
        var missesLeft: Int
        /// False when the host is gone: the URL never becomes ready.
        var reachable: Bool
    }

    /// A simulator state from `options` (the market is generated here, from the seed).
    public init(options: SimulatorOptions) {
        self.options = options
        self.clock = options.clock
        self.market = SimulatedMarket(offerCount: options.offerCount, seed: options.seed, faulty: options.faultyMarket)
        self.marketStart = options.clock.now()
        self.logger = options.logger
        self.faults = FaultInjector(plan: options.faults, defaultSeed: options.seed)
        for offer in market.offers {
            freeGPUs[offer.machineID] = offer.machineGPUs
        }
    }

    // MARK: - Requests, auth, faults

    /// Who is calling.
    enum Caller: Equatable {
        /// The account key.
        case account
        /// An instance's own key (`CONTAINER_API_KEY`): it may read and stop that instance only.
        case instance(Int)
    }

    /// Counts a request to `endpoint`.
    func record(_ endpoint: SimulatorEndpoint) {
        requestCounts[endpoint, default: 0] += 1
    }

    /// Checks a key; throws the answer Vast gives to a missing or wrong one.
    func authorize(key: String?) throws(SimulatorAPIError) -> Caller {
        guard let key, !key.isEmpty else { throw .missingKey }
        let now = clock.now()
        if let instance = instances.values.first(where: { $0.apiKey == key && !$0.isDestroyed(at: now) }) {
            return .instance(instance.id)
        }
        if options.apiKey == nil || options.apiKey == key { return .account }
        throw .badKey
    }

    /// The fault that fires for this request to `endpoint`, if any.
    func fault(for endpoint: SimulatorEndpoint) -> FaultRule? {
        faults.decide(endpoint)
    }

    /// Replaces the fault plan (its counters and generator start afresh).
    public func setFaults(_ plan: FaultPlan) {
        faults = FaultInjector(plan: plan, defaultSeed: options.seed)
    }

    /// The fault plan in force.
    public var faultPlan: FaultPlan { faults.plan }

    // MARK: - Account

    /// `GET /api/v0/users/current`.
    func user(key: String?) -> JSONValue {
        let spent = instances.values.reduce(0) { $0 + $1.dphTotal * $1.billedSeconds(at: clock.now()) / 3600 }
        return [
            "id": 424_242, "username": "ergon-sim", "email": "sim@ergon.invalid", "fullname": "Ergon Simulator",
            "api_key": key.map(JSONValue.string) ?? .null, "balance": 0,
            "credit": .number(SimulatedOffer.rounded(options.initialCredit - spent)),
            "can_pay": true, "has_billing": true, "has_payout": false, "email_verified": true,
            "host_agreement_accepted": false, "billed_expected": 0, "billed_verified": 0, "paid_expected": 0,
            "paid_verified": 0, "got_signup_credit": true, "balance_threshold": 0, "balance_threshold_enabled": false,
            "billing_creditonly": false, "billaddress_city": .null, "billaddress_country": .null,
            "billaddress_line1": .null, "billaddress_line2": .null, "billaddress_zip": .null, "last4": .null,
            "paypal_email": .null, "password_resettable": true, "ssh_key": .null, "user": "ergon-sim", "sid": "simulated",
            "rights": .null, "is_verified": true,
        ]
    }

    // MARK: - Statistics

    /// What the simulator has seen and done so far.
    public func stats() -> SimulatorStats {
        let now = clock.now()
        var billed: [String: Double] = [:]
        for instance in instances.values {
            billed[instance.label ?? "", default: 0] += instance.billedSeconds(at: now)
        }
        return SimulatorStats(
            requests: Dictionary(uniqueKeysWithValues: requestCounts.map { ($0.key.rawValue, $0.value) }),
            liveInstances: instances.values.filter { !$0.isDestroyed(at: now) }.count,
            createdInstances: createdCount, createsPerLabel: createsPerLabel, billedSeconds: billed,
            faultsInjected: Dictionary(uniqueKeysWithValues: faults.firedByKind.map { ($0.key.rawValue, $0.value) }))
    }
}
