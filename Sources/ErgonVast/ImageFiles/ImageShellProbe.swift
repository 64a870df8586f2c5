import AsyncHTTPClient
import ErgonCore
import Logging
import NIOCore

/// Tells whether an image has the `/bin/sh` that vast mode's launch wrapper (and its acceptance
/// check) runs under, by reading the image's layers from its registry, base first, as the
/// runtime would lay them: whiteouts remove, links are followed (`/bin → usr/bin`,
/// `sh → dash`, busybox's hard links).
///
/// It stops at the first layer after which `/bin/sh` is an executable file: a layer above that
/// one could still delete it, which no image seen in practice does, and reading on would mean
/// downloading all of a large image at submit. A shell-less image has every layer read, within
/// `maximumBytes`. Answers are kept per manifest digest, which names the same layers forever.
public struct ImageShellProbe: Sendable {
    /// What the probe found.
    public enum Verdict: Equatable, Sendable {
        /// `/bin/sh` is an executable file; the text tells where its links lead (`/bin/sh → /usr/bin/dash`).
        case present(String)
        /// The image has no usable `/bin/sh`; the text says what is missing.
        case absent(String)
        /// The registry or a layer could not tell; the text says why.
        case unknown(String)

        /// True for what the layers told, as opposed to what kept them from telling.
        var isDefinite: Bool {
            if case .unknown = self { return false }
            return true
        }
    }

    let registries: [ErgonConfig.RegistryAuth]
    let http: HTTPClient
    let requestTimeout: Duration
    let layerTimeout: Duration
    let maximumBytes: Int64
    let verdicts: ShellVerdicts
    let logger: Logger

    /// A probe reading registries over `httpClient` (which must not follow redirects itself, see
    /// ``VastClient/httpConfiguration``; the caller owns it and shuts it down).
    ///
    /// Each request's answer head must come within `requestTimeout`, each layer within
    /// `layerTimeout`; no more than `maximumBytes` of layers are read for one image.
    public init(
        registries: [ErgonConfig.RegistryAuth], httpClient: HTTPClient, requestTimeout: Duration = .seconds(15),
        layerTimeout: Duration = .seconds(600), maximumBytes: Int64 = 1 << 30, logger: Logger = Logger(label: "ergon.vast")
    ) {
        self.registries = registries
        self.http = httpClient
        self.requestTimeout = requestTimeout
        self.layerTimeout = layerTimeout
        self.maximumBytes = maximumBytes
        self.verdicts = ShellVerdicts()
        self.logger = logger
    }

    /// Whether `image` has `/bin/sh`. Never throws: what stops the reading is an `.unknown` verdict.
    public func probe(_ image: String) async -> Verdict {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            return .unknown(error.message)
        }
        let credentials = registries.first { ImageReference.canonicalRegistry($0.host) == reference.registry }
        var session = RegistrySession(
            http: http, reference: reference, credentials: credentials, requestTimeout: requestTimeout, logger: logger)
        do {
            switch try await session.platformManifest() {
            case .legacy:
                return .unknown("\(reference) has a Docker schema 1 manifest, whose layers Ergon does not read")
            case .image(let digest, _, let layers):
                if let known = await verdicts[digest] { return known }
                let verdict = try await read(layers, of: reference, session: &session)
                // A digest names the same layers forever; what could not be read may be readable later.
                if !digest.isEmpty, verdict.isDefinite { await verdicts.keep(verdict, for: digest) }
                return verdict
            }
        } catch is CancellationError {
            return .unknown("the check was cancelled")
        } catch {
            return .unknown("\(error)")
        }
    }

    /// Lays `layers` one over the other until `/bin/sh` resolves to an executable file.
    private func read(
        _ layers: [RegistryManifest.Layer], of reference: ImageReference, session: inout RegistrySession
    ) async throws -> Verdict {
        var tree = ImageFileTree()
        var bytesRead: Int64 = 0
        for (index, layer) in layers.enumerated() {
            let what = "\(reference): layer \(index + 1) of \(layers.count) (\(layer.digest))"
            var decoder = LayerDecoder()
            var reader = TarEntryReader()
            var entries: [TarEntry] = []
            let body = try await session.openBlob(layer.digest, timeout: layerTimeout)
            do {
                for try await chunk in body {
                    bytesRead += Int64(chunk.readableBytes)
                    if bytesRead > maximumBytes {
                        return .unknown(
                            "\(reference): read \(ByteSizeParser.format(maximumBytes)) of its layers without finding /bin/sh, and reads no more")
                    }
                    try decoder.feed(chunk) { bytes in try reader.consume(bytes) { entries.append($0) } }
                    if reader.ended { break }
                }
                if !reader.ended {
                    try decoder.finish { bytes in try reader.consume(bytes) { entries.append($0) } }
                    try reader.finish()
                }
            } catch LayerDecoder.Failure.zstd {
                return .unknown("\(what) is zstd-compressed, which Ergon does not read")
            } catch LayerDecoder.Failure.corrupt {
                return .unknown("\(what) is not valid gzip data")
            } catch let error as TarError {
                return .unknown("\(what) is not a readable tar archive: \(error)")
            } catch {
                throw RegistrySession.failure(error, reference: reference, host: reference.registry, timeout: layerTimeout)
            }
            tree.apply(entries)
            if case .file(let path, true) = tree.resolve("/bin/sh") {
                logger.debug("the image has /bin/sh", metadata: ["image": "\(reference)", "layers read": "\(index + 1)"])
                return .present(path == "/bin/sh" ? path : "/bin/sh → \(path)")
            }
        }
        return .absent(Self.describe(tree.resolve("/bin/sh"), layers: layers.count))
    }

    /// Why `resolution` is not a shell, in words.
    static func describe(_ resolution: ImageFileTree.Resolution, layers: Int) -> String {
        let across = "across its \(layers) layer\(layers == 1 ? "" : "s")"
        switch resolution {
        case .missing(let path) where path == "/bin/sh" || path == "/bin":
            return "no /bin/sh \(across)"
        case .missing(let path):
            return "/bin/sh leads to \(path), which does not exist \(across)"
        case .file(let path, _):
            return path == "/bin/sh" ? "/bin/sh is not executable" : "/bin/sh leads to \(path), which is not executable"
        case .directory(let path):
            return path == "/bin/sh" ? "/bin/sh is a folder" : "/bin/sh leads to the folder \(path)"
        case .other(let path):
            return "/bin/sh leads to \(path), a device or FIFO"
        case .tooManyLinks:
            return "/bin/sh goes through more than \(ImageFileTree.maximumLinks) links"
        }
    }
}

/// Verdicts already reached, per manifest digest.
actor ShellVerdicts {
    private var verdicts: [String: ImageShellProbe.Verdict] = [:]

    subscript(digest: String) -> ImageShellProbe.Verdict? { verdicts[digest] }

    func keep(_ verdict: ImageShellProbe.Verdict, for digest: String) {
        verdicts[digest] = verdict
    }
}

extension VastClient {
    /// A probe on this client's HTTP client, with `registries`' credentials.
    public func imageShellProbe(registries: [ErgonConfig.RegistryAuth]) -> ImageShellProbe {
        ImageShellProbe(registries: registries, httpClient: http, logger: logger)
    }
}

extension VastBackend {
    /// A probe on the backend's HTTP client, with `vast_api.registries`' credentials.
    public func imageShellProbe() -> ImageShellProbe {
        client.imageShellProbe(registries: settings.registries)
    }
}
