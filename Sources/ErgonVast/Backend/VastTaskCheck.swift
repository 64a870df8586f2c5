import ErgonCore
import Foundation

/// What a workflow asks that vast mode cannot do, found at submit so nothing is queued (and
/// nothing rented) for a task that can only fail.
public enum VastTaskCheck {
    /// Problems of the tasks' own offer filters, in any mode: a bad filter is a bad file.
    public static func filterProblems(_ spec: WorkflowSpec) -> [String] {
        spec.tasks.enumerated().compactMap { index, task in
            guard let filters = task.vast?.offerFilters else { return nil }
            do {
                let query = try OfferQuery.parse(filters, defaults: .empty)
                try query.validateForErgon()
                return nil
            } catch {
                return "tasks[\(index)] (\(task.slug)): vast.offer_filters: \(error)"
            }
        }
    }

    /// Problems of fields vast mode cannot honour.
    public static func vastModeProblems(_ spec: WorkflowSpec) -> [String] {
        var problems: [String] = []
        if !spec.volumes.isEmpty {
            problems.append("volumes: vast mode cannot provide shared volumes (each task runs on its own rented host); pass data between tasks as artifacts")
        }
        for (index, task) in spec.tasks.enumerated() where !task.volumes.isEmpty {
            problems.append("tasks[\(index)] (\(task.slug)): volumes: vast mode cannot mount volumes on a rented host")
        }
        return problems
    }
}

extension VastTaskCheck {
    /// Tasks whose image has no `/bin/sh`: vast mode runs every task through its launch wrapper,
    /// a `/bin/sh` script, and the acceptance check under it, so such a task can only fail after
    /// an instance was paid for. `probe` is asked once per image; an image it cannot read gives
    /// a warning, not a problem. `acceptanceCheck` is the agent's `vast_api.acceptance_check`.
    public static func shellProblems(
        _ spec: WorkflowSpec, acceptanceCheck: AcceptanceCheck?, probe: (String) async -> ImageShellProbe.Verdict
    ) async -> SubmissionReview {
        var review = SubmissionReview()
        var verdicts: [String: ImageShellProbe.Verdict] = [:]
        for image in spec.tasks.map(\.image) where verdicts[image] == nil {
            verdicts[image] = await probe(image)
        }
        var warned: Set<String> = []
        for (index, task) in spec.tasks.enumerated() {
            switch verdicts[task.image] {
            case .absent(let why)?:
                let checked = AcceptanceCheck.effective(agent: acceptanceCheck, task: task.vast) != nil
                let need = checked
                    ? "it asks for an acceptance check (\(task.vast?.acceptanceCheck == nil ? "vast_api.acceptance_check" : "vast.acceptance_check")), which runs under /bin/sh, as does vast mode's launch wrapper"
                    : "vast mode runs every task under /bin/sh (its launch wrapper)"
                review.problems.append(
                    "tasks[\(index)] (\(task.slug)): image \(task.image) has no usable shell (\(why)): \(need); use an image with /bin/sh")
            case .unknown(let why)? where !warned.contains(task.image):
                warned.insert(task.image)
                let slugs = spec.tasks.filter { $0.image == task.image }.map(\.slug)
                review.warnings.append(
                    "cannot tell whether image \(task.image) has /bin/sh, which vast mode needs (\(why)); "
                        + "queued anyway: \(slugs.joined(separator: ", "))")
            default:
                break
            }
        }
        return review
    }
}

extension VastTaskCheck {
    /// Everything a workflow is checked for before it is queued under `config`: its offer
    /// filters, and in vast mode what vast mode cannot do and (with `vast_api.check_image_shell`)
    /// images without `/bin/sh`, read by `probe`.
    public static func review(_ spec: WorkflowSpec, config: ErgonConfig, probe: ImageShellProbe?) async -> SubmissionReview {
        var review = SubmissionReview(problems: filterProblems(spec))
        guard config.mode == .vast else { return review }
        review.problems += vastModeProblems(spec).map { "\($0) (the agent runs in vast mode)" }
        guard config.vast.checkImageShell, let probe else { return review }
        return review.merged(with: await shellProblems(spec, acceptanceCheck: config.vast.acceptanceCheck, probe: probe.probe))
    }
}
