import Foundation
import Logging

extension Scheduler {
    /// Performs one action against the backend, the spool and the queue.
    func perform(_ action: SchedulerAction, held: HeldTask?) async throws {
        switch action {
        case .launch(let taskID, let gpu):
            try await launch(taskID: taskID, gpu: gpu)
        case .track(_, _, let instanceID, let phase, let readLogs):
            guard let held else { return }
            try await track(held, instanceID: instanceID, phase: phase, readLogs: readLogs)
        case .finish(_, _, let instanceID, let outcome):
            guard let held else { return }
            try await finish(held, instanceID: instanceID, outcome: outcome)
        case .noteAbsent:
            guard var attempt = held?.attempt else { return }
            attempt.absentTicks += 1
            try await queue.updateAttempt(attempt)
        case .destroyOrphan(let instance):
            let owner = instance.label.map { "\($0)" } ?? "an unreadable label"
            let price = instance.pricePerHour.map { String(format: " at $%.3f/h", $0) } ?? ""
            logger.warning("destroying orphan instance \(instance.id) (\(owner), \(instance.stateText)\(price)): no live attempt claims it")
            try await backend.destroy(instanceID: instance.id)
        case .cleanUp(let workflowID):
            guard let workflow = try await queue.workflow(workflowID) else { return }
            try await backend.cleanUp(workflow: workflow)
            try await queue.markCleanedUp(workflowID: workflowID)
        }
    }

    /// Claims the task, prepares its workspace and launches it. The instance id is recorded
    /// the moment the backend gives it; a failure ends the attempt as a system error.
    func launch(taskID: UUID, gpu: String?) async throws {
        guard let held = try await claimForLaunch(taskID: taskID, gpu: gpu) else { return }
        defer { releaseClaimedInstead(held.task.id) }
        let task = held.task
        var attempt = held.attempt
        logger.info("launching \(task.spec.slug) (\(task.id.uuidString.lowercased())) attempt \(attempt.number)")
        do {
            guard let workflow = try await queue.workflow(task.workflowID) else {
                throw QueueError(.notFound, "workflow \(task.workflowID) of task \(task.spec.slug) is missing")
            }
            var parents: [TaskRecord] = []
            for id in task.parentIDs {
                if let parent = try await queue.task(id) { parents.append(parent) }
            }
            // A new attempt's artifacts replace the last one's, so children see only these.
            try await artifacts.removeAll(ArtifactOwner(task))
            let dataDirectory = try workspace.prepare(taskID: task.id)
            if backend.mountsTaskFolder {
                let placed = try await ParentArtifactLayout(store: artifacts).place(parents: parents, in: dataDirectory)
                if placed > 0 { logger.info("placed \(placed) parent artifact(s) in /data of \(task.spec.slug)") }
            }
            let fetchStarted = ContinuousClock.now
            let prepared = try await prepareResources(of: task)
            let fetchTime = ContinuousClock.now - fetchStarted
            // Issued after the download, which may be long: its lifetime is the run's.
            let access = try await workerAccess(for: held)
            var draft = LaunchRequest(
                task: task, attempt: attempt.number,
                label: InstanceLabel(agentID: agentID, taskID: task.id, attempt: attempt.number), gpu: gpu,
                environment: backend.environment(task: task, attempt: attempt.number, parents: parents, access: access),
                dataDirectory: dataDirectory, workflow: workflow, parents: parents)
            draft.resources = prepared
            draft.budget = ledger
            draft.expectedHours = expectedHours(of: task)
            draft.timeout = basePolicy.timeout(of: task)
            if backend.wantsPastRunTimes(for: task.spec) {
                draft.pastRunTimes = await pastRunTimes(of: task.spec)
            }
            let request = draft
            if !prepared.isEmpty {
                for resource in prepared {
                    attempt = try note(attempt, "resource \(resource.index) (\(resource.resource.type) \(ResourceSource.redacted(resource.resource.url))) ready: \(ByteSizeParser.format(resource.size))\(resource.cached ? "" : ", not cached")")
                }
                attempt = try note(attempt, String(format: "resources ready in %.3f s", fetchTime.seconds))
                try await queue.updateAttempt(attempt)
            }
            // Billed from the order on (a little early: the search comes first).
            attempt.billedFrom = now()
            let ordered = attempt
            let launched = try await withDeadline(basePolicy.provisioningTimeout) { [backend, queue, ledger] in
                try await backend.launch(request) { launched in
                    var recorded = ordered
                    recorded.instanceID = launched.id
                    recorded.rental = launched.rental
                    recorded.phase = .provisioning
                    recorded.pricePerHour = await ledger.price(of: request.label)
                    try await queue.updateAttempt(recorded)
                }
            }
            attempt.instanceID = launched.id
            attempt.rental = launched.rental
            attempt.pricePerHour = await ledger.takePrice(of: request.label)
            endDeferral(of: task.id)
            if backend.launchStartsCommand {
                attempt.phase = .running
                attempt.startedAt = now()
            } else {
                attempt.phase = .provisioning  // the listing says when the command runs
            }
            try await queue.updateAttempt(attempt)
        } catch let error where Self.orderMayHaveBeenPlaced(error, backend: backend) {
            // Never re-send an order whose answer was lost: the attempt stays `ordering` and
            // the reconciler adopts the instance by its label or gives up after the grace,
            // counted from now (the search and the order itself may have taken longer).
            logger.warning("launch of \(task.spec.slug) attempt \(attempt.number): \(error); waiting for the listing")
            var waiting = try await queue.attempts(of: task.id).last { $0.number == attempt.number } ?? attempt
            if waiting.phase == .ordering, waiting.agentID == agentID {
                // Billed from the order on if it was placed; its price comes from the listing.
                waiting.billedFrom = waiting.billedFrom ?? attempt.billedFrom
                waiting.claimedAt = now()
                try await queue.updateAttempt(waiting)
            }
        } catch let error as QueueError where error.kind == .notHeld {
            // Another agent took the task over while this one was launching it (this agent's
            // lease ran out): the attempt, and any instance ordered for it, are that agent's now.
            logger.warning("launch of \(task.spec.slug) attempt \(attempt.number) stopped: \(error.message)")
        } catch {
            let message = (error as? BackendError)?.message ?? "\(error)"
            if (error as? BackendError)?.kind == .overBudget {
                logger.notice("\(task.spec.slug) waits \(Reconciler.format(deferLaunch(of: task.id))): \(message)")
            } else {
                logger.error("launch of \(task.spec.slug) attempt \(attempt.number) failed: \(message)")
            }
            // The backend may have recorded an instance before failing: read it back.
            let current = try await queue.attempts(of: task.id).last { $0.number == attempt.number } ?? attempt
            guard current.agentID == agentID else {
                logger.warning("\(task.spec.slug) attempt \(attempt.number) was taken over by agent \(current.agentID) meanwhile; leaving it to that agent")
                return
            }
            let outcome: AttemptOutcome
            if (error as? BackendError)?.kind == .overBudget {
                // Nothing was ordered: the task waits, its attempt not counted.
                outcome = .deferred(reason: message)
            } else if let unsupported = error as? UnsupportedTaskField {
                outcome = .unrecoverable(reason: unsupported.reason)
            } else if let resourceError = error as? ResourceError {
                outcome = resourceError.isPermanent
                    ? .unrecoverable(reason: resourceError.message) : .systemError(reason: "resources: \(resourceError.message)")
            } else if (error as? BackendError)?.kind == .imageUnavailable {
                outcome = .unrecoverable(reason: message)
            } else {
                outcome = .systemError(reason: "launch failed: \(message)")
            }
            try await finish(HeldTask(task: task, attempt: current), instanceID: current.instanceID, outcome: outcome)
        }
    }

    /// Claims the task the reconciler chose or, when another agent got it first, the next
    /// pending task this launch can run (same GPU need), so agents reading the same pending
    /// list do not lose claim after claim to each other. Nil when nothing is left to claim.
    func claimForLaunch(taskID: UUID, gpu: String?) async throws -> HeldTask? {
        if let held = try await queue.claim(taskID: taskID, agentID: agentID, gpu: gpu, at: now()) { return held }
        guard !isDraining else { return nil }
        let needingGPU: Bool? = basePolicy.instancesHaveGPU ? nil : gpu != nil
        guard let next = try await queue.claimNext(agentID: agentID, needingGPU: needingGPU, gpu: gpu, at: now()) else {
            return nil
        }
        claimedInstead.insert(next.task.id)
        return next
    }

    /// Stores what a task left at the top of its output folder as its artifacts (docker mode),
    /// and notes in its log how many, and each entry skipped. Runs before the container is
    /// removed; a store failure keeps the attempt finishing until the next tick.
    func collectArtifacts(_ held: HeldTask, attempt: AttemptRecord) async throws -> AttemptRecord {
        let folder = workspace.path(of: held.task.id) + "/" + held.task.id.uuidString.lowercased()
        let scan = try ArtifactCollector().scan(folder)
        let owner = ArtifactOwner(held.task)
        for file in scan.files {
            try await artifacts.store(owner, name: file.name, file: file.path, contentType: ContentTypeGuess.forName(file.name.value))
        }
        var attempt = attempt
        let summary = "attempt \(attempt.number): published \(scan.files.count) artifact(s) from /data/current"
        // Nothing to say when the task left nothing; else once per attempt.
        if !scan.files.isEmpty || !scan.skipped.isEmpty, try !spoolTail(of: attempt).contains("[ergon] \(summary)") {
            for line in scan.skipped { attempt = try note(attempt, "artifact skipped: \(line)") }
            attempt = try note(attempt, summary)
        }
        return attempt
    }

    /// True when a launch failed in a way that may still have ordered an instance: the backend
    /// says so, or the launch deadline cut short a backend whose launch is an order.
    static func orderMayHaveBeenPlaced(_ error: any Error, backend: any Backend) -> Bool {
        if let error = error as? BackendError { return error.kind == .outcomeUnknown }
        return error is LaunchDeadlineExceeded && !backend.launchStartsCommand
    }

    /// Records an instance's id and phase and reads its new log bytes.
    func track(_ held: HeldTask, instanceID: String, phase: AttemptPhase, readLogs: Bool) async throws {
        var attempt = try await restoreSpool(held)
        attempt.instanceID = instanceID
        attempt.absentTicks = 0
        if attempt.pricePerHour == nil, let price = listedPrices[instanceID] {
            // Adopted by its label, or taken over: the listing tells its price.
            attempt.pricePerHour = price
        }
        if attempt.phase != phase {
            attempt.phase = phase
            if phase == .running, attempt.startedAt == nil { attempt.startedAt = now() }
        }
        if readLogs, logReadIsDue(for: attempt) {
            attempt = try await pullLogs(attempt, instanceID: instanceID)
            logReads.read(attempt.taskID, at: now())
        }
        // The spool's new length is recorded before any of it is shipped: the store is only
        // ever given bytes the queue knows of, which a restart never rewrites. A tick that
        // changed nothing (an instance still loading, a read with no new bytes) writes nothing:
        // with a thousand live instances those writes were a thousand transactions a tick.
        if attempt != held.attempt { try await queue.updateAttempt(attempt) }
        if readLogs, flushIsDue(for: attempt) {
            let shipped = await shippedIfPossible(attempt, workflowID: held.task.workflowID)
            if shipped.logShipped != attempt.logShipped { try await queue.updateAttempt(shipped) }
        }
    }

    /// True for a `track` of a running instance that would change nothing this tick: the attempt
    /// already records the instance as running and its price, was not missed by the last
    /// listing, its log is not due for a read (a backend that paces reads) and has nothing due
    /// for the store. Such an action is not started at all.
    func trackHasNothingToDo(_ action: SchedulerAction, held: HeldTask?) -> Bool {
        guard backend.pacesLogReads, case .track(_, _, let instanceID, .running, true) = action, let held else { return false }
        let attempt = held.attempt
        guard attempt.phase == .running, attempt.instanceID == instanceID, attempt.absentTicks == 0,
            attempt.startedAt != nil, attempt.pricePerHour != nil || listedPrices[instanceID] == nil
        else { return false }
        return !logReads.intervalPassed(attempt.taskID, running: logReaders, now: now()) && !flushIsDue(for: attempt)
    }

    /// True unless the backend paces its log reads and ``LogReadPacer`` says this attempt's
    /// turn has not come: its last read is younger than `logs.flush_interval` (less a poll
    /// interval, so the read lands on the tick before the interval runs out rather than the
    /// one after), or than its share of the backend's read rate.
    func logReadIsDue(for attempt: AttemptRecord) -> Bool {
        guard backend.pacesLogReads else { return true }
        return logReads.mayRead(attempt.taskID, running: logReaders, now: now())
    }

    /// True when the attempt has unshipped bytes and its last flush is old enough that waiting
    /// for the next tick would leave them unshipped past `logs.flush_interval`.
    func flushIsDue(for attempt: AttemptRecord) -> Bool {
        guard attempt.logShipped < attempt.logSpooled else { return false }
        guard let last = lastFlush[attempt.taskID] else { return true }
        let wait = max(0, flushInterval.seconds - pollInterval.seconds)
        return now().timeIntervalSince(last) >= wait
    }

    /// Ends an attempt: decides it in the queue (`finishing`), reads the instance's final
    /// output into the spool, destroys the instance and waits until it is gone, ships the log,
    /// then records the outcome. A failure on the way leaves `finishing` for the next tick.
    func finish(_ held: HeldTask, instanceID: String?, outcome decided: AttemptOutcome) async throws {
        var attempt = try await restoreSpool(held)
        var outcome = decided
        let firstTime = attempt.phase != .finishing
        if firstTime || attempt.outcome != outcome {
            attempt.phase = .finishing
            attempt.outcome = outcome
            try await queue.updateAttempt(attempt)
        }
        if firstTime, case .hostFailure(let reason) = outcome, let instanceID {
            await backend.avoidHost(ofInstance: instanceID, reason: reason)
        }
        if let instanceID {
            attempt = try await readFinalLogs(attempt, instanceID: instanceID)
        }
        if case .exitStatusInLog(let reason) = outcome {
            // Only now is the whole output in the spool: the wrapper's marker tells the code.
            outcome = try await exitStatus(of: attempt, task: held.task, reason: reason)
            attempt.outcome = outcome
            // Kept before the host is blamed: a finish tried again next tick starts from this
            // outcome and does not blame the host a second time.
            try await queue.updateAttempt(attempt)
            switch (outcome, instanceID) {
            case (.systemError(let lost), let instanceID?):
                // Stopped before its command finished: the host interrupted it.
                await backend.avoidHost(ofInstance: instanceID, reason: lost)
            case (.rejectedHost(let reason), let instanceID?), (.hostFailure(let reason), let instanceID?):
                // Its GPU failed the acceptance check.
                await backend.rejectHost(ofInstance: instanceID, reason: reason)
            default:
                break
            }
            logger.debug("attempt \(attempt.number) of \(held.task.spec.slug): \(reason); read from its log: \(outcome.summary)")
        }
        // Once per attempt, even when an earlier try of this finish failed before writing it.
        if let text = Self.note(for: outcome), try !spoolTail(of: attempt).contains("[ergon] attempt \(attempt.number): \(text)\n") {
            attempt = try note(attempt, "attempt \(attempt.number): \(text)")
        }
        if backend.mountsTaskFolder, case .exited = outcome {
            do {
                attempt = try await collectArtifacts(held, attempt: attempt)
                artifactFailures[held.task.id] = nil
            } catch {
                let failures = artifactFailures[held.task.id, default: 0] + 1
                artifactFailures[held.task.id] = failures
                guard failures >= Self.maximumArtifactFailures else {
                    try await queue.updateAttempt(attempt)
                    logger.warning("storing the artifacts of \(held.task.spec.slug) attempt \(attempt.number) failed (\(failures)); trying again next tick: \(error)")
                    throw error
                }
                // A store that keeps failing must not hold the task forever: the attempt ends
                // as a system error, which another attempt may fix.
                artifactFailures[held.task.id] = nil
                outcome = .systemError(reason: "its artifacts could not be stored after \(failures) tries: \(error)")
                attempt.outcome = outcome
                attempt = try note(attempt, "attempt \(attempt.number): \(outcome.summary)")
                logger.error("\(held.task.spec.slug) attempt \(attempt.number): \(outcome.summary)")
            }
        }
        try await queue.updateAttempt(attempt)
        if let instanceID {
            try await backend.destroy(instanceID: instanceID)
        }
        // Nothing uses the task's resources any more: the cache may evict them.
        if !held.task.spec.resources.isEmpty { await resources?.release(taskID: held.task.id) }
        // Every byte is in the spool and the instance is gone. The log is put on the backlog
        // before the task is recorded as ended, so an unreachable store delays only the log:
        // the backlog (and the next start, if the agent stops first) sends the rest.
        let key = LogKey(workflowID: held.task.workflowID, taskID: attempt.taskID, attempt: attempt.number)
        try shipper.remember(key, length: attempt.logSpooled)
        if let shipped = await finalShip(key, length: attempt.logSpooled) {
            attempt.logShipped = shipped
            try await queue.updateAttempt(attempt)
            shipper.forget(key)  // only once the queue knows: else the backlog records it
        }
        finalReadFailures[held.task.id] = nil
        lastFlush[held.task.id] = nil
        logReads.forget(held.task.id)
        let task = try await queue.finishAttempt(
            taskID: held.task.id, attempt: attempt.number, outcome: outcome, heldBy: agentID, at: now())
        logger.info("\(task.spec.slug) attempt \(attempt.number) \(outcome.summary) → \(task.state.rawValue)")
    }

    /// The outcome an ended command's log tells: its exit marker's status; the host rejected
    /// when the acceptance check failed before the command ran; else a system error (the
    /// instance was lost or interrupted before the command ended).
    func exitStatus(of attempt: AttemptRecord, task: TaskRecord, reason: String) async throws -> AttemptOutcome {
        let label = InstanceLabel(agentID: attempt.agentID, taskID: attempt.taskID, attempt: attempt.number)
        let tail = try spoolTailBytes(of: attempt)
        if let code = ExitMarker.status(in: tail, label: label) { return .exited(code: code) }
        if let status = AcceptanceMarker.failureStatus(in: tail, label: label) {
            return try await rejection(status: status, task: task, attempt: attempt)
        }
        return .systemError(reason: "\(reason) and its log holds no exit status (the command did not finish)")
    }

    /// The outcome of a failed acceptance check: the host rejected (the task is ordered again
    /// elsewhere, the attempt not counted), unless the task already rejected `max_rejections`
    /// hosts in a row, when the failure counts as an attempt like any host failure: a check
    /// that fails everywhere (a typo, a tool the image lacks) uses up the task's attempts
    /// instead of renting hosts forever. Status 127 gets no special case: on Vast `nvidia-smi`
    /// comes from the host's driver, and a host without it is exactly what the check is for.
    func rejection(status: Int, task: TaskRecord, attempt: AttemptRecord) async throws -> AttemptOutcome {
        let check = backend.acceptanceCheck(for: task.spec)
        let reason = AcceptanceMarker.reason(status: status, check: check)
        let maxRejections = check?.maxRejections ?? AcceptanceCheck.defaultMaxRejections
        // Attempts that rented nothing (deferred by the budget) neither break nor extend the run.
        let earlier = try await queue.attempts(of: task.id).filter { attempt.number > $0.number && $0.outcome?.isDeferred != true }
        let rejectedInARow = earlier.reversed().prefix { if case .rejectedHost = $0.outcome { return true } else { return false } }.count
        guard rejectedInARow < maxRejections else {
            return .hostFailure(reason: "\(reason), on \(rejectedInARow + 1) hosts in a row: counted as an attempt")
        }
        return .rejectedHost(reason: reason)
    }

    /// The last bytes of an attempt's spool (the exit marker and the agent's notes are there).
    func spoolTailBytes(of attempt: AttemptRecord) throws -> [UInt8] {
        let from = max(0, attempt.logSpooled - Int64(ExitMarker.searchWindow))
        guard attempt.logSpooled > from else { return [] }
        return try shipper.spool.read(
            taskID: attempt.taskID, attempt: attempt.number, from: from, limit: Int(attempt.logSpooled - from))
    }

    func spoolTail(of attempt: AttemptRecord) throws -> String {
        String(decoding: try spoolTailBytes(of: attempt), as: UTF8.self)
    }

    /// The agent's own line for an outcome, if it has one.
    static func note(for outcome: AttemptOutcome) -> String? {
        switch outcome {
        case .systemError(let reason), .hostFailure(let reason), .timedOut(let reason), .unrecoverable(let reason):
            return reason
        case .rejectedHost(let reason): return "host rejected: \(reason)"
        case .stopped: return "stopped by a user"
        case .exited, .exitStatusInLog, .deferred: return nil
        }
    }

    /// Reads an ended instance's remaining output until nothing is left. A failed read keeps
    /// the instance (the next tick tries again) until it failed `maximumFinalReadFailures`
    /// times in a row; then the log is marked incomplete rather than keeping a container forever.
    func readFinalLogs(_ attempt: AttemptRecord, instanceID: String) async throws -> AttemptRecord {
        var attempt = attempt
        for _ in 0..<8 {
            let before = attempt.logSpooled
            do {
                attempt = try await pullLogs(attempt, instanceID: instanceID)
            } catch {
                let failures = finalReadFailures[attempt.taskID, default: 0] + 1
                finalReadFailures[attempt.taskID] = failures
                guard failures >= Self.maximumFinalReadFailures else {
                    logger.warning("final log read of \(instanceID) failed (\(failures)); keeping it to try again: \(error)")
                    throw error
                }
                logger.error("final log read of \(instanceID) failed \(failures) times; destroying it with the log incomplete: \(error)")
                return try note(attempt, "the end of this log could not be read from the container: \(error)")
            }
            if attempt.logSpooled == before { break }
        }
        return attempt
    }

    /// Reads new bytes from the instance into the spool and advances the cursor.
    func pullLogs(_ attempt: AttemptRecord, instanceID: String) async throws -> AttemptRecord {
        var attempt = attempt
        let read = try await backend.readLogs(instanceID: instanceID, cursor: attempt.logCursor)
        if backend.pacesLogReads { logReads.charge(read.extraReads) }
        if !read.bytes.isEmpty {
            try shipper.spool.append(taskID: attempt.taskID, attempt: attempt.number, at: attempt.logSpooled, bytes: read.bytes)
            attempt.logSpooled += Int64(read.bytes.count)
        }
        attempt.logCursor = read.cursor
        return attempt
    }

    /// Appends a line of the agent's own to the attempt's log, marked as such.
    func note(_ attempt: AttemptRecord, _ text: String) throws -> AttemptRecord {
        var attempt = attempt
        var bytes: [UInt8] = []
        if attempt.logSpooled > 0,
            let last = try? shipper.spool.read(taskID: attempt.taskID, attempt: attempt.number, from: attempt.logSpooled - 1, limit: 1),
            last != [0x0a]
        {
            bytes.append(0x0a)  // keep the note on its own line after an unterminated last line
        }
        bytes += Array("[ergon] \(text)\n".utf8)
        try shipper.spool.append(taskID: attempt.taskID, attempt: attempt.number, at: attempt.logSpooled, bytes: bytes)
        attempt.logSpooled += Int64(bytes.count)
        return attempt
    }

    /// Copies unshipped spool bytes to the log store; a store failure is logged and the bytes
    /// wait in the spool for the next try.
    func shippedIfPossible(_ attempt: AttemptRecord, workflowID: UUID) async -> AttemptRecord {
        guard attempt.logShipped < attempt.logSpooled else { return attempt }
        var attempt = attempt
        let key = LogKey(workflowID: workflowID, taskID: attempt.taskID, attempt: attempt.number)
        lastFlush[attempt.taskID] = now()
        do {
            if case .shipped(let visible) = try await shipper.ship(key, length: attempt.logSpooled, complete: false) {
                attempt.logShipped = visible
            }
        } catch {
            logger.warning("shipping the log of task \(attempt.taskID.uuidString.lowercased()) failed; the spool keeps it: \(error)")
        }
        return attempt
    }

    /// Makes a complete log final in the store; returns its length in the store, or nil when
    /// the store failed (the backlog tries again) or another ship of it is in progress.
    func finalShip(_ key: LogKey, length: Int64) async -> Int64? {
        do {
            guard case .shipped(let shipped) = try await shipper.ship(key, length: length, complete: true) else { return nil }
            return shipped
        } catch {
            logger.warning("storing the log of task \(key.taskID.uuidString.lowercased()) attempt \(key.attempt) failed; the spool keeps it and the agent tries again every \(Reconciler.format(flushInterval.seconds)): \(error)")
            return nil
        }
    }

    /// Sends the logs of ended attempts that the store has not made final yet (the store was
    /// down when they ended, or the agent stopped first), records their shipped length, and
    /// takes them off the backlog. An entry that fails is skipped for this round; the others
    /// are still tried.
    func shipBacklog() async {
        let (entries, unreadable) = shipper.backlog()
        for path in unreadable where !reportedBacklogFiles.contains(path) {
            reportedBacklogFiles.insert(path)
            logger.error("cannot read the log backlog entry \(path); its log stays in the spool")
        }
        for entry in entries {
            guard !Task.isCancelled else { return }
            do {
                // An attempt another agent took over (this one stopped while finishing it) is
                // that agent's to store: its log there is the whole one, this spool is not.
                let recorded = try await queue.attempts(of: entry.key.taskID).first { $0.number == entry.key.attempt }
                if let recorded, recorded.agentID != agentID {
                    shipper.forget(entry.key)
                    logger.info("the log of task \(entry.key.taskID.uuidString.lowercased()) attempt \(entry.key.attempt) is agent \(recorded.agentID)'s to store; dropped from this agent's backlog")
                    continue
                }
                guard let shipped = await finalShip(entry.key, length: entry.length) else { continue }
                guard var attempt = try await queue.attempts(of: entry.key.taskID).first(where: { $0.number == entry.key.attempt })
                else {
                    shipper.forget(entry.key)  // the task is gone from the queue; the store has its log
                    continue
                }
                // An attempt still finishing is recorded by its own finish, which is under way:
                // writing it here could undo that. The entry stays for the next round.
                guard attempt.phase == .done else { continue }
                if attempt.logShipped != shipped {
                    attempt.logShipped = shipped
                    try await queue.updateAttempt(attempt)
                }
                shipper.forget(entry.key)
                logger.info("stored the log of task \(entry.key.taskID.uuidString.lowercased()) attempt \(entry.key.attempt) (\(shipped) bytes) from the backlog")
            } catch {
                logger.warning("recording the stored log of task \(entry.key.taskID.uuidString.lowercased()) failed; trying again next round: \(error)")
            }
        }
    }
}

/// A task asks for something this agent cannot do; no retry can help.
struct UnsupportedTaskField: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// A launch (pull, create, start) outlived the provisioning timeout.
struct LaunchDeadlineExceeded: Error, CustomStringConvertible {
    let seconds: TimeInterval
    var description: String { "the container was not started within \(Reconciler.format(seconds)) (scheduler.provisioning_timeout)" }
}

/// Runs `body`, cancelling it when it outlives `seconds`.
func withDeadline<T: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw LaunchDeadlineExceeded(seconds: seconds)
        }
        return value
    }
}
