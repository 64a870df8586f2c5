import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The agent's loop: each tick lists the backend, reads the queue, asks the `Reconciler`
/// what to do, and performs it. Long actions run concurrently; a task with an action in
/// flight is left alone until it completes. On graceful shutdown it stops claiming, lets
/// the actions already started finish, and returns without touching running instances.
public actor Scheduler: Service {
    let agentID: String
    let queue: any TaskQueue
    let backend: any Backend
    let shipper: LogShipper
    let workspace: TaskWorkspace
    /// Where tasks' artifacts are kept.
    let artifacts: any ArtifactStore
    /// Fetches and holds tasks' resources; nil: tasks with resources are refused.
    let resources: (any ResourceProvider)?
    /// `ARKINDEX_API_URL` for tasks when the agent serves the worker API; nil: none.
    let workerAPIURL: String?
    let wakeupFile: WakeupFile
    let pollInterval: Duration
    /// How often running tasks' logs and the backlog of ended ones are sent to the store.
    let flushInterval: Duration
    /// When each running task's log was last sent to the store.
    var lastFlush: [UUID: Date] = [:]
    /// When running tasks' logs are read, for backends that pace their reads.
    var logReads: LogReadPacer
    /// Running tasks whose logs the current tick reads: they share the backend's read rate.
    var logReaders = 0
    /// Attempts whose spool was found whole (``restoreSpool``), while this agent holds them.
    var wholeSpools: Set<LogKey> = []
    /// Backlog entries already reported as unreadable.
    var reportedBacklogFiles: Set<String> = []
    let basePolicy: ReconcilerPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// Wakes the loop early; public so embedders (tests, the CLI) can nudge it.
    public nonisolated let wake = WakeSignal()
    private nonisolated let draining = Mutex(false)
    /// Set by outside changes (engine events, the wake-up file): only a tick they woke
    /// re-checks what it had to skip, so internal re-ticks cannot chain into a busy loop.
    private nonisolated let outsideChange = Mutex(false)
    private var busy: Set<UUID> = []
    /// Tasks a launch claimed in place of the one the reconciler chose (another agent got that
    /// one first): busy until that launch ends.
    var claimedInstead: Set<UUID> = []
    /// Subjects whose action completed while a tick was reading: that tick's records of them
    /// may predate the action, so it leaves them to the next tick.
    private var completedDuringPlan: Set<UUID> = []
    /// Launches started and not yet finished, plus those finished during the current plan.
    /// Busy subjects a tick had to skip: when their action completes, the loop ticks again so
    /// whatever woke that tick (an exit, a cancel) is not left to the poll interval.
    private var skippedWhileBusy: Set<UUID> = []
    /// Consecutive failed final log reads per task; see `readFinalLogs`.
    var finalReadFailures: [UUID: Int] = [:]
    /// How many failed final reads in a row give up on the end of a log.
    static let maximumFinalReadFailures = 3
    /// Consecutive ticks on which storing an ended task's artifacts failed.
    var artifactFailures: [UUID: Int] = [:]
    /// How many failed tries to store artifacts end the attempt as a system error (retried).
    static let maximumArtifactFailures = 5
    private var launching: [UUID: InFlightLaunch] = [:]
    private var launchedDuringPlan: [UUID: InFlightLaunch] = [:]
    private var ticks = 0
    /// `docker` or `vast`, as the queue's agent list shows it.
    let mode: String
    /// Where this agent's instances live (`Backend.scope`), read at start.
    var scope = ""
    /// When this run started.
    let startedAt: Date
    /// The lease timings (`queue.lease`, `queue.heartbeat_every`, `queue.docker_takeover_after`).
    let leases: Takeover.Policy
    /// Every agent the queue knows, as of the last heartbeat.
    var knownAgents: [AgentRecord] = []
    /// Until when the last heartbeat that got through keeps this agent's lease.
    var leaseHeldUntil: Date = .distantPast
    /// This host's name, as `agents list` shows it.
    let hostName = LocalHost.name
    /// The ids of the other agents sharing the queue: their instances are listed with ours.
    var otherAgents: Set<String> { Set(knownAgents.map(\.id)).subtracting([agentID]) }
    /// The money caps (`budget`), and the account kept against them (it also tells the price
    /// each order was placed at).
    let budget: BudgetPolicy
    let ledger: SpendLedger
    /// Why this agent orders nothing now (a cap is reached), as last logged.
    var launchHold: String?
    /// Tasks whose last launch a cap deferred: left alone until then, and the refusals in a row.
    var deferredUntil: [UUID: (until: Date, refusals: Int)] = [:]
    /// The priced attempts of the budget's period as last read, and when.
    var billedRead: (at: Date, attempts: [AttemptRecord])?
    /// The price per hour of each instance in the latest listing.
    var listedPrices: [String: Double] = [:]

    /// A scheduler for `config`, with the GPUs already resolved (docker mode).
    public init(
        config: ErgonConfig, queue: any TaskQueue, backend: any Backend, logStore: any LogStore,
        artifactStore: (any ArtifactStore)? = nil, resources: (any ResourceProvider)? = nil, gpus: [String], logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        if let artifactStore {
            self.artifacts = artifactStore
        } else if case .file(let directory) = config.artifactStore {
            self.artifacts = FileArtifactStore(root: directory)
        } else {
            preconditionFailure("an s3:// artifact store is opened by the caller and passed in")
        }
        self.resources = resources
        self.workerAPIURL = config.server.listen == nil ? nil : config.server.workerAPIURL
        self.agentID = config.agentID
        self.queue = queue
        self.backend = backend
        self.shipper = LogShipper(spool: LogSpool(directory: config.spoolDirectory), store: logStore)
        self.workspace = TaskWorkspace(root: config.workDirectory)
        self.wakeupFile = WakeupFile(path: config.wakeupFile)
        self.pollInterval = config.scheduler.pollInterval
        self.flushInterval = config.logFlushInterval
        self.logReads = LogReadPacer(
            ratePerSecond: backend.logReadsPerSecond,
            minimumInterval: config.logFlushInterval.seconds - config.scheduler.pollInterval.seconds,
            burst: (backend.logReadsPerSecond ?? 1) * min(config.logFlushInterval.seconds, 10))
        var policy = ReconcilerPolicy(config: config, gpus: gpus)
        policy.instancesHaveGPU = backend.instancesHaveGPU
        policy.maxLaunchesInFlight = backend.maxLaunchesInFlight
        self.basePolicy = policy
        self.logger = logger
        self.now = now
        self.mode = config.mode.rawValue
        self.leases = config.leases
        self.startedAt = now()
        self.budget = config.budget
        self.ledger = SpendLedger(policy: config.budget, now: now)
    }

    /// Ends a launch's hold on a task it claimed in place of the chosen one: like an action's
    /// subject, it is left to the next tick if the current one read it before this.
    func releaseClaimedInstead(_ taskID: UUID) {
        claimedInstead.remove(taskID)
        completedDuringPlan.insert(taskID)
    }

    /// Asks the loop to drain: stop claiming, finish started actions, return.
    public nonisolated func drain() {
        draining.withLock { $0 = true }
        wake.signal()
    }

    nonisolated var isDraining: Bool { draining.withLock { $0 } }

    /// Something outside the agent changed (an instance exited, a task was submitted).
    private nonisolated func noteOutsideChange() {
        outsideChange.withLock { $0 = true }
        wake.signal()
    }

    public func run() async throws {
        try await backend.prepare()
        scope = try await readScope()
        if backend.mountsTaskFolder {
            // A task's /data is a folder of this agent's data_dir, from which its artifacts are
            // collected: only an agent with the same data_dir can finish its container.
            scope += "#" + workspace.root
        }
        try await register()
        await releaseStaleResourceHolds()
        logger.info("agent \(agentID) started", metadata: ["backend": "\(backend.name)", "scope": "\(scope)"])
        if mode != ErgonConfig.Mode.vast.rawValue, !budget.isUnlimited {
            logger.warning("budget caps what rented instances cost: docker mode has no prices, so they do not apply here")
        }
        // Before the first tick reads the queue: a submit after this point wakes the loop.
        let baseline = wakeupFile.stamp()
        await withDiscardingTaskGroup { sources in
            sources.addTask { [backend] in
                for await _ in backend.changes() { self.noteOutsideChange() }
            }
            sources.addTask { [wakeupFile] in
                await wakeupFile.watch(from: baseline) { self.noteOutsideChange() }
            }
            sources.addTask { [queue] in
                // Other processes' submits, cancels and retries (PostgreSQL: LISTEN/NOTIFY).
                for await _ in queue.changes() { self.noteOutsideChange() }
            }
            sources.addTask {
                // The lease alone, so that nothing else the agent does can delay it.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Int64(self.leases.heartbeatInterval * 1000)))
                    guard !Task.isCancelled else { return }
                    await self.renewLease()
                }
            }
            sources.addTask {
                // The agents sharing the queue, and the takeover of those whose lease ran out.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Int64(self.leases.heartbeatInterval * 1000)))
                    guard !Task.isCancelled else { return }
                    await self.watchOtherAgents()
                }
            }
            sources.addTask {
                // Logs of ended attempts the store did not take yet, also those left by an
                // earlier run: retried every flush interval until the store has them.
                while !Task.isCancelled {
                    await self.shipBacklog()
                    try? await Task.sleep(for: self.flushInterval)
                }
            }
            await withDiscardingTaskGroup { actions in
                await withGracefulShutdownHandler {
                    while !self.isDraining && !Task.isCancelled {
                        for (action, held) in await self.plan() {
                            actions.addTask { await self.execute(action, held: held) }
                        }
                        await self.wake.wait(timeout: self.pollInterval)
                    }
                } onGracefulShutdown: {
                    self.drain()
                }
                logger.info("draining: no new claims; waiting for \(busy.count) action(s) in flight")
            }
            sources.cancelAll()
        }
        await signOff()
        logger.info("agent \(agentID) stopped; running instances stay up: its next start re-adopts them, unless an agent sharing the queue takes them over first")
    }

    /// Ends the resource holds of tasks this agent no longer runs (they ended while it was
    /// stopped), so the cache can evict what they used.
    func releaseStaleResourceHolds() async {
        guard let resources else { return }
        do {
            let live = Set(try await queue.heldTasks(agentID: agentID).map(\.task.id))
            for taskID in await resources.holders() where !live.contains(taskID) {
                await resources.release(taskID: taskID)
            }
        } catch {
            logger.warning("could not check the cache's holds against the queue: \(error)")
        }
    }

    /// Runs one tick's reconciliation and returns the actions to start, each marked busy.
    func plan() async -> [(SchedulerAction, HeldTask?)] {
        ticks += 1
        let tickStarted = ContinuousClock.now
        let wokenFromOutside = outsideChange.withLock { flag in
            defer { flag = false }
            return flag
        }
        completedDuringPlan = []
        launchedDuringPlan = [:]
        let listing: [BackendInstance]
        do {
            listing = try await backend.list(owners: otherAgents.union([agentID]))
        } catch {
            logger.warning("listing the \(backend.name) backend failed; skipping this tick: \(error)")
            return []
        }
        var policy = basePolicy
        // Without a lease known to hold, the other agents may be taking this one's tasks over:
        // it claims nothing new until a heartbeat gets through again.
        policy.claiming = !isDraining && holdsLease(at: now())
        listedPrices = Dictionary(listing.compactMap { instance in instance.pricePerHour.map { (instance.id, $0) } }) { a, _ in a }
        if policy.claiming, await budgetHolds(listing: listing) {
            policy.claiming = false
        }
        let snapshot: ReconcilerSnapshot
        do {
            // Read after the listing: anything listed was recorded by its claim before now.
            let everyone = try await queue.heldTasks()
            let held = everyone.filter { $0.task.agentID == agentID }
            let pending = policy.claiming ? try await pendingCandidates(policy) : []
            let cleanups = try await queue.workflowsToCleanUp()
            snapshot = ReconcilerSnapshot(
                held: held, pending: pending, listing: listing,
                busy: busy.union(completedDuringPlan).union(claimedInstead).union(deferredTasks()),
                workflowsToCleanUp: cleanups,
                launching: Array(launching.merging(launchedDuringPlan) { a, _ in a }.values),
                heldByOthers: everyone.filter { $0.task.agentID != agentID }, otherAgents: otherAgents)
        } catch {
            logger.error("reading the queue failed; skipping this tick: \(error)")
            return []
        }
        if wokenFromOutside {
            // What woke this tick may concern subjects it had to leave out: those still in
            // flight are looked at again when their action completes, and those that
            // completed while this tick read get one more tick at once.
            skippedWhileBusy.formUnion(busy)
            if !completedDuringPlan.isEmpty { wake.signal() }
        }
        let byTask = Dictionary(snapshot.held.map { ($0.task.id, $0) }, uniquingKeysWith: { a, _ in a })
        // A task that left this agent, even for a tick, has its spool looked at again if it comes back.
        wholeSpools = wholeSpools.filter { byTask[$0.taskID]?.attempt.number == $0.attempt }
        logReads.keepOnly(Set(byTask.keys))
        var actions = Reconciler.decide(snapshot, now: now(), policy: policy)
        logReaders = actions.count(where: { if case .track(_, _, _, _, true) = $0 { return true } else { return false } })
        // With a thousand running instances, most ticks have nothing to do for most of them.
        actions.removeAll { trackHasNothingToDo($0, held: $0.subject.flatMap { byTask[$0] }) }
        if isDraining {
            // A drain that began while this tick read claims nothing new.
            actions.removeAll { if case .launch = $0 { return true } else { return false } }
        }
        recordTickMetrics(snapshot, started: tickStarted)
        logger.trace("tick \(ticks): \(snapshot.held.count) held, \(snapshot.pending.count) pending, \(listing.count) listed, \(actions.count) action(s)")
        return actions.map { action in
            if let subject = action.subject { busy.insert(subject) }
            if case .launch(let taskID, let gpu) = action {
                launching[taskID] = InFlightLaunch(taskID: taskID, gpu: gpu)
            }
            return (action, action.subject.flatMap { byTask[$0] })
        }
    }

    /// Pending tasks this agent could claim, in claim order: those needing no GPU, and those
    /// needing one when it has GPUs, read separately so neither kind hides the other.
    func pendingCandidates(_ policy: ReconcilerPolicy) async throws -> [TaskRecord] {
        // Tasks a cap deferred are read but left alone: they must not hide the tasks behind them.
        let window = policy.maxParallelTasks + 16 + deferredUntil.count
        if policy.instancesHaveGPU { return try await queue.pendingTasks(limit: window) }
        var candidates = try await queue.pendingTasks(limit: window, needingGPU: false)
        if !policy.gpus.isEmpty {
            candidates += try await queue.pendingTasks(limit: policy.gpus.count + 16, needingGPU: true)
        }
        return candidates.sorted { ($0.spec.priority, -$0.seq) > ($1.spec.priority, -$1.seq) }
    }

    /// Performs one action, then frees its subject.
    func execute(_ action: SchedulerAction, held: HeldTask?) async {
        let started = ContinuousClock.now
        defer { logger.trace("\(action.label) took \(ContinuousClock.now - started)") }
        do {
            try await perform(action, held: held)
        } catch {
            logger.error("\(action.label) failed: \(error)")
        }
        var tickAgain = action.changesQueue
        if let subject = action.subject {
            busy.remove(subject)
            completedDuringPlan.insert(subject)
            if skippedWhileBusy.remove(subject) != nil { tickAgain = true }
        }
        if case .launch(let taskID, _) = action, let launch = launching.removeValue(forKey: taskID) {
            launchedDuringPlan[taskID] = launch
        }
        if tickAgain { wake.signal() }
    }
}

extension SchedulerAction {
    /// A short name for logs.
    var label: String {
        switch self {
        case .launch(let id, _): return "launch of task \(id.uuidString.lowercased())"
        case .track(let id, _, let instance, _, _): return "tracking \(instance) of task \(id.uuidString.lowercased())"
        case .finish(let id, _, _, _): return "finishing task \(id.uuidString.lowercased())"
        case .noteAbsent(let id, _): return "noting task \(id.uuidString.lowercased()) absent"
        case .destroyOrphan(let instance): return "destroying orphan \(instance.id)"
        case .cleanUp(let id): return "cleaning up workflow \(id.uuidString.lowercased())"
        }
    }

    /// True when completing it may let another task start, so the loop should tick at once.
    var changesQueue: Bool {
        switch self {
        case .launch, .finish: return true
        case .track, .noteAbsent, .destroyOrphan, .cleanUp: return false
        }
    }
}
