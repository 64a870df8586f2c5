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
