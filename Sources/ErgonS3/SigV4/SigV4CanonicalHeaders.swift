/// The signed headers of a request in SigV4's canonical form.
///
/// Names are lower-cased and sorted (by bytes); each value is trimmed and its inner runs of
/// spaces and tabs become one space; the values of a name given more than once are joined with
/// `,` in the order they were given.
struct SigV4CanonicalHeaders: Sendable {
    /// `(name, value)` in canonical form, sorted by name, one entry per name.
    let entries: [(name: String, value: String)]

    /// Canonicalises `headers` (the exact list that will be sent).
    init(_ headers: [(name: String, value: String)]) {
        var valuesByName: [String: [String]] = [:]
        for header in headers {
            valuesByName[header.name.lowercased(), default: []].append(Self.trimmed(header.value))
        }
        entries = valuesByName
            .map { (name: $0.key, value: $0.value.joined(separator: ",")) }
            .sorted { SigV4URIEncoding.precedesInBytes($0.name, $1.name) }
    }

    /// `host;range;x-amz-date`: the names, for the `SignedHeaders` field.
    var signedHeaders: String {
        entries.map(\.name).joined(separator: ";")
    }

    /// `host:example.com\nrange:bytes=0-9\n`: one line per name, each ending in a newline.
    var canonicalText: String {
        entries.map { "\($0.name):\($0.value)\n" }.joined()
    }

    /// The value with surrounding blanks removed and inner runs of blanks made one space.
    private static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
