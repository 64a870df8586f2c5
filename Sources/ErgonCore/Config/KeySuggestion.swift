/// Finds the valid name a user most likely meant, for "did you mean" hints.
public enum KeySuggestion {
    /// The candidate closest to `key` by edit distance, or nil when none is close enough
    /// to be a plausible typo. Case, `-` and `_` differences count as a perfect match.
    public static func closest(to key: String, among candidates: [String]) -> String? {
        let wanted = normalized(key)
        if let loose = candidates.first(where: { normalized($0) == wanted }) { return loose }
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(key.lowercased(), candidate.lowercased())
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        // One edit per three characters, at least one: catches typos, not other words.
        // Names of one or two characters are too short for an edit to say anything.
        let shortest = min(key.count, best.candidate.count)
        let allowed = shortest < 3 ? 0 : max(1, shortest / 3)
        return best.distance <= allowed ? best.candidate : nil
    }

    /// ` (did you mean "x"?)` when a candidate is close, else ` (expected one of: a, b, c)`.
    public static func hint(for key: String, among candidates: [String]) -> String {
        if let match = closest(to: key, among: candidates) { return " (did you mean \"\(match)\"?)" }
        return " (expected one of: \(candidates.joined(separator: ", ")))"
    }

    /// The edit distance between two strings, counting insertions, deletions, substitutions
    /// and swaps of two neighbouring characters (`imgae` → `image`) as one edit each.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        editDistance(Array(a), Array(b))
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Optimal string alignment: Levenshtein plus adjacent transpositions.
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }

    private static func normalized(_ key: String) -> String {
        String(key.lowercased().filter { $0 != "_" && $0 != "-" })
    }
}
