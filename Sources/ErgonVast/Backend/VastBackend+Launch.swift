import ErgonCore
import Foundation

extension VastBackend {
    /// Searches the matching offers and orders an instance on the best (`vast_api.ranking`), walking down the
    /// ranked list while offers are taken. The instance id is recorded before this returns;
    /// an order whose answer was lost is never repeated (`outcomeUnknown`). The instance comes
    /// with the offer ordered, its rank and why it was chosen (``RentalChoice/vast(ordered:ranked:passedOver:warm:now:ranking:score:)``).
    public func launch(
        _ request: LaunchRequest, record: @Sendable (LaunchedInstance) async throws -> Void
    ) async throws -> LaunchedInstance {
        let task = request.task.spec
        if !task.volumes.isEmpty {
            throw BackendError(.launchFailed, "task \(task.slug) mounts volumes, which vast mode cannot provide")
        }
        let argv = try await argv(of: task)
        // No deadline known (neither the request's nor the task's): no lifetime rule.
        let lifetime = (request.timeout ?? task.timeoutSeconds).map { OfferLifetime(timeout: $0, settings: settings) }
        let selection: OfferSelection
        do {
            selection = try OfferSelection.make(
                agentFilters: settings.offerFilters, taskFilters: task.vast?.offerFilters,
                excludedMachines: Array(await hosts.current().keys), maxDPH: settings.maxDPH,
                diskGB: task.vast?.diskGB ?? settings.diskGB, lifetime: lifetime)
        } catch {
            throw BackendError(.launchFailed, "task \(task.slug): vast.offer_filters: \(error)")
        }
        // Asked before the order turn: a slow registry delays this launch, not the others.
        let imageBytes = await registryImageBytes(of: task)
        try Task.checkCancellation()
        // One launch at a time from the search to the order (see `OrderTurns`).
        return try await orderTurns.run {
            try await order(request, selection: selection, argv: argv, imageBytes: imageBytes, record: record)
        }
    }

    /// Searches with `selection` and orders the best offer for `request`, walking down the
    /// ranked list while offers are taken; the instance id is recorded before this returns.
    private func order(
        _ request: LaunchRequest, selection: OfferSelection, argv: [String], imageBytes: Int64?,
        record: @Sendable (LaunchedInstance) async throws -> Void
    ) async throws -> LaunchedInstance {
        let task = request.task.spec
        let offers: [VastOffer]
        do {
            offers = try await client.searchOffers(body: selection.requestBody)
        } catch let error as VastError {
            throw Self.backendError(error, doing: "searching offers")
        }
        let ordered = await OfferSelection.order(selection.rank(offers), by: settings.ranking) {
            await effectiveCostInputs(
                task: task, registryImageBytes: imageBytes, pastRuns: request.pastRunTimes, timeout: request.timeout)
        }
        let byRanking = ordered.offers
        let (ranked, warm) = await preferringWarmHosts(byRanking, image: task.image, slug: task.slug)
        guard !ranked.isEmpty else {
            var uncapped = selection
            uncapped.maxDPH = nil
            if let cap = settings.maxDPH, let cheapest = uncapped.rank(offers).first {
                // Offers match, but over the cap: the task waits for the market, not an attempt.
                throw BackendError(
                    .overBudget,
                    "vast_api.max_dph \(BudgetCheck.money(cap))/h: the cheapest matching offer costs \(BudgetCheck.money(cheapest.dphTotal))/h")
            }
            throw BackendError(.launchFailed, Self.noOfferMessage(selection: selection, offers: offers))
        }
        let wrapper = VastLaunchWrapper(
            argv: argv, workDir: task.workDir, label: request.label,
            publishArtifacts: request.environment["ARKINDEX_TASK_TOKEN"] != nil,
            acceptanceCheck: acceptanceCheck(for: task))
        let order = VastCreateRequest(
            image: task.image, env: request.environment, disk: selection.diskGB, label: request.label.vastLabel,
            args: wrapper.args, onstart: wrapper.onstart, imageLogin: imageLogin(for: task.image))
        var gone: [Int] = []
        var refusal: String?
        var passedOver: [(offer: VastOffer, why: RentalChoice.PassedOver)] = []
        for offer in ranked.prefix(settings.maxOffersTried) {
            if let reason = await request.budget?.admit(pricePerHour: offer.dphTotal, hours: request.expectedHours, label: request.label) {
                // A warm host moved first may cost more than a cheaper offer that fits.
                refusal = refusal ?? reason
                passedOver.append((offer, .overBudget))
                continue
            }
            do {
                let created = try await client.createInstance(offerID: offer.id, request: order)
                let id = String(created.id)
                let rental = RentalChoice.vast(
                    ordered: offer, ranked: byRanking, passedOver: passedOver, warm: warm, now: warmHosts?.now() ?? Date(),
                    ranking: settings.ranking.rawValue, score: ordered.score(of: offer.id)?.dollars)
                let launched = LaunchedInstance(id: id, rental: rental)
                try await record(launched)
                logger.info(
                    "ordered instance \(id) for \(task.slug) on offer \(offer.id) (machine \(offer.machineID), \(offer.gpuName), $\(String(format: "%.3f", offer.dphTotal))/h, \(rental.summary))")
                return launched
            } catch let error as VastError {
                if let stray = error.strayInstanceID {
                    // An error answer that still made an instance: it is ours to remove.
                    logger.warning("create on offer \(offer.id) failed but made instance \(stray); destroying it")
                    try? await destroy(instanceID: String(stray))
                }
                switch error.kind {
                case .offerGone:
                    await request.budget?.withdraw(label: request.label)
                    gone.append(offer.id)
                    passedOver.append((offer, .taken))
                    logger.info("offer \(offer.id) was taken before the order; trying the next one")
                    continue
                case .timeout, .transport, .server, .malformed:
                    // The order may have been placed (a gateway's 5xx, an answer cut short):
                    // never send it again; the listing finds the instance by its label.
                    throw BackendError(.outcomeUnknown, "the order on offer \(offer.id) got no answer (\(error))")
                default:
                    await request.budget?.withdraw(label: request.label)
                    throw Self.backendError(error, doing: "ordering offer \(offer.id)")
                }
            }
        }
        if let refusal { throw BackendError(.overBudget, refusal) }
        throw BackendError(
            .launchFailed,
            "the \(gone.count) cheapest matching offers were taken before they could be ordered (vast_api.max_offers_tried: \(settings.maxOffersTried))")
    }

    /// What the `effective_cost` ranking knows of `task` besides the offers: its image's size,
    /// its hints, its past runs, its timeout, and what this agent recorded on each machine.
    func effectiveCostInputs(
        task: TaskSpec, registryImageBytes: Int64?, pastRuns: [TimeInterval], timeout: TimeInterval?
    ) async -> EffectiveCost.Inputs {
        await EffectiveCost.Inputs.gather(
            registryImageBytes: registryImageBytes, imageSizeHint: task.vast?.imageSizeHint,
            expectedRuntime: task.vast?.expectedRuntimeSeconds, pastRuns: pastRuns, timeout: timeout ?? task.timeoutSeconds,
            hosts: hosts)
    }

    /// The image's compressed size from its registry's manifest, for the `effective_cost`
    /// ranking; nil under `price` or when the registry cannot say (then `image_size_hint`). A
    /// registry that failed for this image is not asked again for a while (``UnsizedImages``).
    func registryImageBytes(of task: TaskSpec) async -> Int64? {
        guard settings.ranking == .effectiveCost, let imageConfig, unsizedImages.shouldAsk(task.image) else { return nil }
        do {
            if let bytes = try await imageConfig.configuration(of: task.image)?.compressedBytes { return bytes }
        } catch {
            // A launch cancelled meanwhile says nothing about the registry.
            if error is CancellationError || Task.isCancelled { return nil }
            logger.info("task \(task.slug): the size of \(task.image) could not be read from its registry (\(error)); ranking with image_size_hint")
        }
        unsizedImages.noteFailure(task.image)
        return nil
    }

    /// Why a launch found nothing to order, with the `ergon offers` command that shows which term
    /// removed the offers. The search carries the lifetime floor, so the rule is named whenever
    /// there is one; offers that an API returned despite it are counted.
    static func noOfferMessage(selection: OfferSelection, offers: [VastOffer]) -> String {
        guard let lifetime = selection.lifetime else {
            return "no offer matches the filters (\(offers.count) returned by the search); "
                + "`ergon offers --explain` shows which terms remove them"
        }
        let shortLived = selection.shortLived(offers)
        let note = shortLived > 0 ? ", \(shortLived) of them matching but failing the lifetime rule" : ""
        return "no offer matches the filters and \(lifetime.summary) (\(offers.count) returned by the search\(note)); "
            + "`ergon offers --explain --timeout \(OfferFunnel.number(lifetime.timeout))` shows which terms remove them"
    }

    /// `ranked` with a machine that ran `image` moved first when `vast_api.prefer_warm_hosts_within`
    /// allows it (``OfferSelection/preferWarm(_:warm:within:image:)``), with the warm choice made.
    func preferringWarmHosts(
        _ ranked: [VastOffer], image: String, slug: String
    ) async -> (offers: [VastOffer], choice: OfferSelection.WarmChoice?) {
        guard let margin = settings.preferWarmHostsWithin, let warmHosts else { return (ranked, nil) }
        let (offers, choice) = OfferSelection.preferWarm(ranked, warm: await warmHosts.machines(for: image), within: margin, image: image)
        if let choice {
            logger.info("task \(slug): warm host preferred: \(choice.summary(now: warmHosts.now()))")
        }
        return (offers, choice)
    }

    /// The argv the wrapper must run, by Docker's rules (``dockerArgv(task:image:)``). The image's
    /// registry is asked only when the task sets no entrypoint; when it cannot answer, the task
    /// cannot launch until it sets one.
    func argv(of task: TaskSpec) async throws -> [String] {
        if task.entrypoint != nil {
            let argv = Self.dockerArgv(task: task, image: nil)
            guard !argv.isEmpty else {
                throw BackendError(.imageUnavailable, "task \(task.slug): nothing to run: `entrypoint: []` and no command")
            }
            return argv
        }
        let image: ImageLaunchConfig?
        do {
            image = try await imageConfig?.configuration(of: task.image)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as RegistryError where error.kind == .unreachable || error.kind == .timeout {
            // A registry that is down for a while is a system failure: the task is retried.
            throw BackendError(
                .unreachable,
                "task \(task.slug): the entrypoint of \(task.image) could not be read from its registry (\(error)); the task "
                    + "is retried, or set `entrypoint:` on the task ([] for none) to launch without the registry")
        } catch {
            throw Self.entrypointUnknown(task, because: "reading it from the registry failed: \(error)")
        }
        guard let image else {
            throw Self.entrypointUnknown(task, because: imageConfig == nil ? "no registry lookup is configured" : "its registry gave no configuration")
        }
        let argv = Self.dockerArgv(task: task, image: image)
        guard !argv.isEmpty else {
            // Docker refuses such a container ("no command specified"); so does Ergon.
            throw BackendError(
                .imageUnavailable,
                "task \(task.slug): nothing to run: the task sets no command and \(task.image) has no entrypoint or CMD")
        }
        return argv
    }

    /// Docker's rules: the task's entrypoint replaces the image's, and also drops the image's
    /// Cmd; the task's command replaces the Cmd. `image` is only read when the task sets no
    /// entrypoint.
    static func dockerArgv(task: TaskSpec, image: ImageLaunchConfig?) -> [String] {
        let entrypoint = task.entrypoint ?? image?.entrypoint ?? []
        let command = task.command?.argv ?? (task.entrypoint == nil ? image?.cmd ?? [] : [])
        return entrypoint + command
    }

    /// The launch error for a task whose image's entrypoint cannot be known, with the fix.
    static func entrypointUnknown(_ task: TaskSpec, because reason: String) -> BackendError {
        BackendError(
            .imageUnavailable,
            "task \(task.slug): vast mode replaces the entrypoint of \(task.image) with its launch wrapper, so it must run the "
                + "image's own, and \(reason); set `entrypoint:` on the task ([] for none), and `command:` too, since "
                + "a task's entrypoint also drops the image's CMD")
    }

    /// `image_login` for a private image: `-u USER -p TOKEN REGISTRY`, from `vast_api.registries`.
    func imageLogin(for image: String) -> String? {
        guard let reference = try? ImageReference(parsing: image),
            let auth = settings.registries.credentials(for: reference)
        else { return nil }
        return "-u \(auth.username) -p \(auth.password) \(auth.host)"
    }
}
