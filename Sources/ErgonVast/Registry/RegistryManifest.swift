import Foundation

/// The document a registry answers for `GET /v2/<name>/manifests/<reference>`.
enum RegistryManifest: Equatable, Sendable {
    /// A multi-platform index (OCI image index, Docker manifest list).
    case index([Entry])
    /// One image's manifest (OCI, Docker schema 2): the digest of its configuration blob, and
    /// its layers, the base first.
    case image(configDigest: String, layers: [Layer])
    /// A Docker schema 1 manifest, which carries the configuration itself.
    case legacy(ImageLaunchConfig)

    /// One platform's manifest in an index.
    struct Entry: Equatable, Sendable {
        var digest: String
        var os: String?
        var architecture: String?
    }

    /// One layer blob of an image.
    struct Layer: Equatable, Sendable {
        var digest: String
        /// Its compressed size, when the manifest gives it.
        var size: Int64?
    }

    /// The sum of `layers`' compressed sizes; nil when there are none or one gives no size.
    static func compressedBytes(of layers: [Layer]) -> Int64? {
        guard !layers.isEmpty else { return nil }
        var total: Int64 = 0
        for layer in layers {
            guard let size = layer.size else { return nil }
            total += size
        }
        return total
    }

    /// The media types asked for, most wanted first.
    static let acceptedTypes = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]

    /// Reads a manifest, by its `mediaType` field or else the `Content-Type` it came with.
    init(body: [UInt8], contentType: String?, describing what: String) throws(RegistryError) {
        func malformed(_ why: String) -> RegistryError { RegistryError(.malformed, "\(what): \(why)") }
        guard let json = try? JSONValue.decode(Data(body)), json.objectValue != nil else {
            throw malformed("the manifest is not a JSON object")
        }
        let mediaType = json["mediaType"]?.stringValue
            ?? contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        if let manifests = json["manifests"]?.arrayValue {
            self = .index(manifests.compactMap { item in
                item["digest"]?.stringValue.map { digest in
                    Entry(digest: digest, os: item["platform"]?["os"]?.stringValue,
                          architecture: item["platform"]?["architecture"]?.stringValue)
                }
            })
        } else if let digest = json["config"]?["digest"]?.stringValue {
            let layers = try (json["layers"]?.arrayValue ?? []).map { item throws(RegistryError) in
                guard let digest = item["digest"]?.stringValue else { throw malformed("a layer has no digest") }
                return Layer(digest: digest, size: item["size"]?.intValue.map(Int64.init))
            }
            self = .image(configDigest: digest, layers: layers)
        } else if json["schemaVersion"]?.intValue == 1, let history = json["history"]?.arrayValue {
            // Schema 1 keeps each layer's configuration as a JSON string; the first is the image's.
            guard let text = history.first?["v1Compatibility"]?.stringValue else {
                throw malformed("the schema 1 manifest has no v1Compatibility history")
            }
            self = .legacy(try ImageLaunchConfig(configBlob: Array(text.utf8), describing: what))
        } else {
            throw malformed("unsupported manifest (media type \(mediaType ?? "unknown"))")
        }
    }

    /// The digest of `os`/`architecture`'s manifest in an index.
    static func digest(in entries: [Entry], os: String, architecture: String, describing what: String) throws(RegistryError) -> String {
        if let entry = entries.first(where: { $0.os == os && $0.architecture == architecture }) {
            return entry.digest
        }
        let platforms = entries.compactMap { entry in entry.os.map { "\($0)/\(entry.architecture ?? "?")" } }
            .filter { $0 != "unknown/unknown" }
        throw RegistryError(
            .malformed,
            "\(what) has no \(os)/\(architecture) image (it has \(platforms.isEmpty ? "none" : platforms.joined(separator: ", "))), which Vast instances run")
    }
}
