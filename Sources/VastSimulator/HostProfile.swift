/// Where a host is and how well it is run: shared by all its machines.
struct HostProfile: Sendable {
    var id: Int
    var city: String
    var country: String
    var quality: Double

    static let places: [(String, String, Double)] = [
        ("Los Angeles", "US", 8), ("Dallas", "US", 6), ("New York", "US", 5), ("Kansas City", "US", 3),
        ("Montreal", "CA", 3), ("Toronto", "CA", 2), ("Frankfurt", "DE", 4), ("Paris", "FR", 3),
        ("Amsterdam", "NL", 3), ("Stockholm", "SE", 3), ("Helsinki", "FI", 2), ("London", "GB", 3),
        ("Warsaw", "PL", 2), ("Prague", "CZ", 1), ("Bucharest", "RO", 2), ("Kyiv", "UA", 1),
        ("Madrid", "ES", 1), ("Taipei", "TW", 3), ("Tokyo", "JP", 2), ("Seoul", "KR", 2),
        ("Singapore", "SG", 2), ("Hanoi", "VN", 2), ("Beijing", "CN", 3), ("Sydney", "AU", 1),
        ("Sao Paulo", "BR", 1),
    ]

    static func random(id: Int, using random: inout SeededGenerator) -> HostProfile {
        let place = random.weighted(places.map { (($0.0, $0.1), $0.2) })
        // Most hosts are well run; a few are not, and their machines show it.
        let quality = random.weighted([(Double.random(in: 0.85...1, using: &random), 80.0),
                                       (Double.random(in: 0.6...0.85, using: &random), 15.0),
                                       (Double.random(in: 0.2...0.6, using: &random), 5.0)])
        return HostProfile(id: id, city: place.0, country: place.1, quality: quality)
    }
}
