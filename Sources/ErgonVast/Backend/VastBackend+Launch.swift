import ErgonCore
import Foundation

extension VastBackend {
    /// Searches the cheapest matching offer and orders an instance on it, walking down the
    /// ranked list while offers are taken. The instance id is recorded before this returns;
    /// an order whose answer was lost is never repeated (`outcomeUnknown`).
    public func launch(_ request: LaunchRequest, record: @Sendable (String) async throws -> Void) async throws -> String {
        let task = request.task.spec
        if !task.volumes.isEmpty {
            throw BackendError(.launchFailed, "task \(task.slug) mounts volumes, which vast mode cannot provide")
        }
        let entrypoint = try await entrypoint(of: task)
        let selection: OfferSelection
        do {
            selection = try OfferSelection.make(
                agentFilters: settings.offerFilters, taskFilters: task.vast?.offerFilters,
                excludedMachines: Array(await hosts.current().keys), maxDPH: settings.maxDPH,
                diskGB: task.vast?.diskGB ?? settings.diskGB)
        } catch {
            throw BackendError(.launchFailed, "task \(task.slug): vast.offer_filters: \(error)")
        }
        let offers: [VastOffer]
        do {
            offers = try await client.searchOffers(body: selection.requestBody)
        } catch let error as VastError {
            throw Self.backendError(error, doing: "searching offers")
        }
        let ranked = selection.rank(offers)
        guard !ranked.isEmpty else {
            let cap = settings.maxDPH.map { String(format: " at or under $%.3f/h (vast_api.max_dph)", $0) } ?? ""
            throw BackendError(
                .launchFailed,
                "no offer matches the filters\(cap) (\(offers.count) returned by the search); `ergon offers --explain` shows which terms remove them")
        }
        let wrapper = VastLaunchWrapper(
            argv: VastLaunchWrapper.argv(entrypoint: entrypoint, command: task.command), workDir: task.workDir,
            label: request.label)
        let order = VastCreateRequest(
            image: task.image, env: request.environment, disk: selection.diskGB, label: request.label.vastLabel,
            args: wrapper.args, onstart: wrapper.onstart, imageLogin: imageLogin(for: task.image))
        var gone: [Int] = []
        for offer in ranked.prefix(settings.maxOffersTried) {
            do {
                let created = try await client.createInstance(offerID: offer.id, request: order)
                let id = String(created.id)
                try await record(id)
                logger.info(
                    "ordered instance \(id) for \(task.slug) on offer \(offer.id) (machine \(offer.machineID), \(offer.gpuName), $\(String(format: "%.3f", offer.dphTotal))/h)")
                return id
            } catch let error as VastError {
                if let stray = error.strayInstanceID {
                    // An error answer that still made an instance: it is ours to remove.
                    logger.warning("create on offer \(offer.id) failed but made instance \(stray); destroying it")
                    try? await destroy(instanceID: String(stray))
                }
                switch error.kind {
                case .offerGone:
                    gone.append(offer.id)
                    logger.info("offer \(offer.id) was taken before the order; trying the next one")
                    continue
                case .timeout, .transport:
                    // The order may have been placed: never send it again.
                    throw BackendError(.outcomeUnknown, "the order on offer \(offer.id) got no answer (\(error))")
                default:
                    throw Self.backendError(error, doing: "ordering offer \(offer.id)")
                }
            }
        }
        throw BackendError(
            .launchFailed,
            "the \(gone.count) cheapest matching offers were taken before they could be ordered (vast_api.max_offers_tried: \(settings.maxOffersTried))")
    }

    /// The entrypoint the wrapper must run: the task's own (`[]` for none). The image's own
    /// cannot be read from here without its registry, so a task must say.
    func entrypoint(of task: TaskSpec) async throws -> [String] {
        if let entrypoint = task.entrypoint { return entrypoint }
        if let resolved = try await imageConfig?.entrypoint(of: task.image) { return resolved }
        throw BackendError(
            .imageUnavailable,
            "task \(task.slug): vast mode replaces the image's entrypoint with its launch wrapper, and the entrypoint of \(task.image) is unknown; set `entrypoint:` on the task ([] when the image has none)")
    }

    /// `image_login` for a private image: `-u USER -p TOKEN REGISTRY`, from `vast_api.registries`.
    func imageLogin(for image: String) -> String? {
        let host = Self.registryHost(of: image)
        guard let auth = settings.registries.first(where: { $0.host == host }) else { return nil }
        return "-u \(auth.username) -p \(auth.password) \(auth.host)"
    }

    /// The registry an image reference names (`docker.io` when it names none).
    static func registryHost(of image: String) -> String {
        let first = image.split(separator: "/", maxSplits: 1).first.map(String.init) ?? image
        let isHost = image.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        return isHost ? first : "docker.io"
    }
}
