/// The dependency graph of a workflow's tasks, by slug.
public struct WorkflowGraph: Sendable {
    /// A structural fault of a workflow, naming the task at fault.
    public enum Fault: Error, Equatable, Sendable, CustomStringConvertible {
        case duplicateSlug(String)
        case unknownParent(task: String, parent: String)
        case selfParent(String)
        case cycle([String])

        public var description: String {
            switch self {
            case .duplicateSlug(let slug): return "task \"\(slug)\": duplicate slug"
            case .unknownParent(let task, let parent):
                return "task \"\(task)\": unknown parent \"\(parent)\" (no task of this workflow has that slug)"
            case .selfParent(let slug): return "task \"\(slug)\": lists itself as a parent"
            case .cycle(let path): return "tasks form a cycle: \(path.joined(separator: " → "))"
            }
        }
    }

    /// Slugs in an order where every parent comes before its children; ties keep file order.
    public let order: [String]

    /// Builds the graph and checks it: unique slugs, known parents, no cycle.
    public init(_ tasks: [TaskSpec]) throws {
        var seen = Set<String>()
        for task in tasks {
            guard seen.insert(task.slug).inserted else { throw Fault.duplicateSlug(task.slug) }
        }
        for task in tasks {
            for parent in task.parents {
                if parent == task.slug { throw Fault.selfParent(task.slug) }
                guard seen.contains(parent) else { throw Fault.unknownParent(task: task.slug, parent: parent) }
            }
        }
        // Kahn's algorithm, always taking the earliest ready task in file order.
        var remaining = Dictionary(uniqueKeysWithValues: tasks.map { ($0.slug, Set($0.parents)) })
        var order: [String] = []
        while order.count < tasks.count {
            guard let next = tasks.first(where: { remaining[$0.slug]?.isEmpty == true }) else {
                throw Fault.cycle(Self.findCycle(tasks.filter { remaining[$0.slug] != nil }))
            }
            order.append(next.slug)
            remaining[next.slug] = nil
            for key in remaining.keys { remaining[key]?.remove(next.slug) }
        }
        self.order = order
    }

    /// One cycle among tasks that all still wait on a parent, as a closed path of slugs
    /// from parent to child (`a → b → a`).
    private static func findCycle(_ tasks: [TaskSpec]) -> [String] {
        let parents = Dictionary(uniqueKeysWithValues: tasks.map { ($0.slug, $0.parents) })
        // Every task here waits on a parent that also waits, so walking up must revisit one.
        var path: [String] = []
        var current = tasks[0].slug
        while !path.contains(current) {
            path.append(current)
            guard let next = parents[current]?.first(where: { parents[$0] != nil }) else { break }
            current = next
        }
        guard let start = path.firstIndex(of: current) else { return path }
        let cycle = Array(path[start...].reversed())
        return cycle + [cycle[0]]
    }
}
