/// One request as the signer sees it: method, decoded path and query, and the headers to sign.
///
/// The path and the query are given decoded (`/bucket/a b/c.log`, `("prefix", "x/y")`) and are
/// encoded exactly once, by ``encodedTarget`` and by the signer alike, so what is sent is what
/// was signed.
public struct SigV4Request: Sendable {
    /// The HTTP method, e.g. `GET`.
    public var method: String
    /// The decoded path, starting with `/`: `/bucket/a b/c.log`.
    public var path: String
    /// The decoded query items; a name without a value is `("acl", "")`.
    public var query: [(name: String, value: String)]
    /// The headers that will be sent and signed, always including `host` (with `:port` when the
    /// port is not the scheme's default).
    public var headers: [(name: String, value: String)]

    /// A request from its decoded parts.
    public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The encoded path and query as they must appear on the wire
    /// (`/bucket/a%20b?list-type=2&prefix=x%2Fy`), in the canonical order and encoding the
    /// signature covers; no `?` when there is no query.
    public var encodedTarget: String {
        let query = canonicalQuery
        return query.isEmpty ? canonicalPath : canonicalPath + "?" + query
    }

    /// The path as signed and sent: each segment percent-encoded, `/` kept.
    var canonicalPath: String { SigV4URIEncoding.path(path) }

    /// The query as signed and sent: encoded pairs sorted by name, then value.
    var canonicalQuery: String { SigV4URIEncoding.query(query) }
}
