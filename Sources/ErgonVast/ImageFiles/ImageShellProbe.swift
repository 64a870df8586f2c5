import AsyncHTTPClient
import ErgonCore
import Logging
import NIOCore
import Synchronization

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
    let maximumBytes: Int64
    let maximumDuration: Duration
    let verdicts: ShellVerdicts
    let logger: Logger

    /// A probe reading registries over `httpClient` (which must not follow redirects itself, see
    /// ``VastClient/httpConfiguration``; the caller owns it and shuts it down).
    ///
    /// Each request's answer head must come within `requestTimeout`, and while layers are read
    /// no more than `requestTimeout` may pass without a byte, nor `maximumDuration` in all. No
    /// more than `maximumBytes` of layers, nor four times that once unpacked, are read for one image.
    public init(
        registries: [ErgonConfig.RegistryAuth], httpClient: HTTPClient, requestTimeout: Duration = .seconds(15),
        maximumBytes: Int64 = 1 << 30, maximumDuration: Duration = .seconds(600), logger: Logger = Logger(label: "ergon.vast")
    ) {
        self.registries = registries
        self.http = httpClient
        self.requestTimeout = requestTimeout
        self.maximumBytes = maximumBytes
        self.maximumDuration = maximumDuration
        self.verdicts = ShellVerdicts()
        self.logger = logger
    }

    /// Whether `image` has `/bin/sh`. Never throws: what stops the reading is an `.unknown` verdict.
    ///
    /// Concurrent probes of one image share one reading of its layers.
    public func probe(_ image: String) async -> Verdict {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: image)
        } catch {
            return .unknown(error.message)
        }
        let credentials = registries.credentials(for: reference)
        var session = RegistrySession(
            http: http, reference: reference, credentials: credentials, requestTimeout: requestTimeout, logger: logger)
        let digest: String
        let layers: [RegistryManifest.Layer]
        do {
            switch try await session.platformManifest() {
            case .legacy:
                return .unknown("\(reference) has a Docker schema 1 manifest, whose layers Ergon does not read")
            case .image(let manifestDigest, _, let manifestLayers):
                (digest, layers) = (manifestDigest, manifestLayers)
            }
        } catch is CancellationError {
            return .unknown("the check was cancelled")
        } catch {
            return .unknown("\(error)")
        }
        // The session keeps the authorization its manifest read earned.
        let authorized = session
        let read: @Sendable () async -> Verdict = { await self.watched(layers, of: reference, session: authorized) }
        // Another registry may serve the same manifest over other layers: the key names both.
        return await verdicts.verdict(for: "\(reference.registry)/\(reference.repository)@\(digest)", read: read)
    }

    /// Reads `layers` while a watchdog ends the reading when no byte came for `requestTimeout`
    /// (AsyncHTTPClient's deadline stops at the answer's head, and its read timeout is off), or
    /// after `maximumDuration` in all.
    private func watched(_ layers: [RegistryManifest.Layer], of reference: ImageReference, session: RegistrySession) async -> Verdict {
        let progress = ReadProgress()
        let (idle, total) = (requestTimeout, maximumDuration)
        do {
            return try await withThrowingTaskGroup(of: Verdict.self) { group in
                group.addTask {
                    var session = session
                    session.onAnswer = { progress.mark() }
                    return try await self.read(layers, of: reference, session: &session, progress: progress)
                }
                group.addTask {
                    switch try await progress.watch(idle: idle, total: total) {
                    case .idle:
                        return .unknown("\(reference): its registry or blob storage sent nothing for \(idle) while its layers were read")
                    case .total:
                        return .unknown("\(reference): its layers were not read within \(total)")
                    }
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch is CancellationError {
            return .unknown("the check was cancelled")
        } catch {
            return .unknown("\(error)")
        }
    }

    /// Lays `layers` one over the other until `/bin/sh` resolves to an executable file.
    private func read(
        _ layers: [RegistryManifest.Layer], of reference: ImageReference, session: inout RegistrySession, progress: ReadProgress
    ) async throws -> Verdict {
        var tree = ImageFileTree()
        var bytesRead: Int64 = 0
        var tarBytes: Int64 = 0
        let maximumTarBytes = maximumBytes.multipliedReportingOverflow(by: 4).overflow ? Int64.max : maximumBytes * 4
        let capped = Verdict.unknown(
            "\(reference): read \(ByteSizeParser.format(maximumBytes)) of its layers (\(ByteSizeParser.format(maximumTarBytes)) unpacked) "
                + "without finding /bin/sh, and reads no more")
        for (index, layer) in layers.enumerated() {
            let what = "\(reference): layer \(index + 1) of \(layers.count) (\(layer.digest))"
            var decoder = LayerDecoder()
            var reader = TarEntryReader()
            var entries: [TarEntry] = []
            progress.mark()
            let body = try await session.openBlob(layer.digest)
            let unpack = { (bytes: UnsafeRawBufferPointer) throws in
                tarBytes += Int64(bytes.count)
                guard tarBytes <= maximumTarBytes else { throw ReadProgress.Exceeded() }
                try reader.consume(bytes) { entries.append($0) }
            }
            do {
                for try await chunk in body {
                    progress.mark()
                    bytesRead += Int64(chunk.readableBytes)
                    guard bytesRead <= maximumBytes else { return capped }
                    try decoder.feed(chunk, unpack)
                    if reader.ended || decoder.isFinished { break }
                }
                if !reader.ended {
                    try decoder.finish(unpack)
                    try reader.finish()
                }
            } catch is ReadProgress.Exceeded {
                return capped
            } catch LayerDecoder.Failure.zstd {
                return .unknown("\(what) is zstd-compressed, which Ergon does not read")
            } catch LayerDecoder.Failure.corrupt {
                return .unknown("\(what) is not valid gzip data")
            } catch LayerDecoder.Failure.truncated {
                return .unknown("\(what) ends inside its gzip data")
            } catch let error as TarError {
                return .unknown("\(what) is not a readable tar archive: \(error)")
            } catch {
                throw RegistrySession.failure(error, reference: reference, host: "its registry or blob storage", timeout: requestTimeout)
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

/// Verdicts already reached, and readings under way, per manifest digest.
actor ShellVerdicts {
    private enum Entry {
        case reading(Task<ImageShellProbe.Verdict, Never>)
        case read(ImageShellProbe.Verdict)
    }

    private var entries: [String: Entry] = [:]

    /// The verdict on `digest`: kept, the one being read, or `read`'s (kept unless unknown, since
    /// what could not be read may be readable later; a digest names the same layers forever).
    func verdict(for digest: String, read: @escaping @Sendable () async -> ImageShellProbe.Verdict) async -> ImageShellProbe.Verdict {
        switch entries[digest] {
        case .read(let verdict)?: return verdict
        case .reading(let task)?: return await task.value
        case nil: break
        }
        let task = Task { await read() }
        entries[digest] = .reading(task)
        let verdict = await task.value
        entries[digest] = verdict.isDefinite ? .read(verdict) : nil
        return verdict
    }
}

/// When the layers last gave a byte, for the watchdog of a reading.
final class ReadProgress: Sendable {
    /// More than the probe reads, unpacked.
    struct Exceeded: Error {}

    /// Why a watch ended.
    enum Limit { case idle, total }

    private let started = ContinuousClock.now
    private let last = Mutex(ContinuousClock.now)

    func mark() {
        last.withLock { $0 = .now }
    }

    /// Returns once `idle` passed without a ``mark()``, or `total` since the start; throws
    /// `CancellationError` when cancelled.
    func watch(idle: Duration, total: Duration) async throws -> Limit {
        let step = min(idle / 4, .seconds(1))
        while true {
            try await Task.sleep(for: step)
            let now = ContinuousClock.now
            if last.withLock({ now - $0 }) > idle { return .idle }
            if now - started > total { return .total }
        }
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
