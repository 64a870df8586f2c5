import Foundation

/// Where an S3 service answers and how buckets are addressed on it.
///
/// A custom endpoint (MinIO, Ceph, moto, a local gateway) defaults to path-style addressing
/// (`http://host:port/bucket/key`); AWS itself defaults to virtual-host addressing
/// (`https://bucket.s3.REGION.amazonaws.com/key`).
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// How a bucket appears in a request.
    public enum Addressing: String, Sendable, Equatable, CaseIterable {
        /// The bucket is the first path segment.
        case path
        /// The bucket is the first label of the host name.
        case virtualHost = "virtual"
    }

    /// `http` or `https`.
    public let scheme: String
    /// The service's host name, without the bucket.
    public let host: String
    /// The port, nil for the scheme's default.
    public let port: Int?
    /// The signing region.
    public let region: String
    /// How buckets are addressed.
    public let addressing: Addressing

    /// An endpoint from a URL such as `http://127.0.0.1:9000`; nil when the URL has no host,
    /// a scheme other than http/https, or a path, query or credentials (an endpoint is an origin).
    public init?(url: String, region: String, addressing: Addressing? = nil) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.path.isEmpty || components.path == "/", components.query == nil,
            components.user == nil, components.password == nil
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = components.port
        self.region = region
        self.addressing = addressing ?? .path
    }

    /// AWS S3 in `region`, with virtual-host addressing unless told otherwise.
    public static func aws(region: String, addressing: Addressing = .virtualHost) -> S3Endpoint {
        S3Endpoint(url: "https://s3.\(region).amazonaws.com", region: region, addressing: addressing)!
    }

    /// The origin, as written in messages (`http://127.0.0.1:9000`).
    public var description: String { "\(scheme)://\(authority(bucket: nil))" }

    /// The host and path of an object (or of a bucket when `key` is nil), the path decoded.
    func target(bucket: String, key: String?) -> (authority: String, path: String) {
        switch addressing {
        case .path:
            return (authority(bucket: nil), "/" + bucket + (key.map { "/" + $0 } ?? ""))
        case .virtualHost:
            return (authority(bucket: bucket), "/" + (key ?? ""))
        }
    }

    /// `host[:port]` as sent in the `Host` header, with the bucket as first label when given.
    func authority(bucket: String?) -> String {
        let name = bucket.map { "\($0).\(host)" } ?? host
        let bracketed = name.contains(":") ? "[\(name)]" : name
        guard let port, port != (scheme == "https" ? 443 : 80) else { return bracketed }
        return "\(bracketed):\(port)"
    }
}
