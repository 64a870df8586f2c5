import AsyncHTTPClient
import ErgonCore
import Foundation
import Testing

@testable import ErgonVast

@Suite("The /bin/sh check against a real registry", .localRegistry)
struct ImageShellRegistryTests {
    /// Lends a probe over its own `HTTPClient` configured as the agent's.
    static func withProbe<T: Sendable>(
        registries: [ErgonConfig.RegistryAuth] = [], maximumBytes: Int64 = 1 << 30, _ body: (ImageShellProbe) async throws -> T
    ) async throws -> T {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: VastClient.httpConfiguration)
        defer { _ = Task { try? await http.shutdown() } }
        return try await body(ImageShellProbe(registries: registries, httpClient: http, requestTimeout: .seconds(5), maximumBytes: maximumBytes))
    }

    @Test("busybox's /bin/sh, a shell-less image, and a shell that only the second layer adds")
    func readsLayers() async throws {
        try await Self.withProbe { probe in
            #expect(await probe.probe(LocalRegistry.image) == .present("/bin/sh → /bin/busybox"))
            #expect(await probe.probe("\(LocalRegistry.address)/ergon-test/noshell:1") == .absent("no /bin/sh across its 1 layer"))
            #expect(await probe.probe("\(LocalRegistry.address)/ergon-test/lateshell:1") == .present("/bin/sh → /bin/busybox"))
            // The answer is kept per manifest digest: asked again, it is the same.
            #expect(await probe.probe("\(LocalRegistry.address)/ergon-test/noshell:1") == .absent("no /bin/sh across its 1 layer"))
        }
    }

    @Test("layers are read with the registry's credentials; what cannot be read is unknown, with the reason")
    func unknowns() async throws {
        let credentials = ErgonConfig.RegistryAuth(host: LocalRegistry.authAddress, username: LocalRegistry.user, password: LocalRegistry.password)
        try await Self.withProbe(registries: [credentials]) { probe in
            #expect(await probe.probe("\(LocalRegistry.authAddress)/ergon-test/noshell:1") == .absent("no /bin/sh across its 1 layer"))
        }
        try await Self.withProbe { probe in
            guard case .unknown(let refused) = await probe.probe("\(LocalRegistry.authAddress)/ergon-test/noshell:1") else {
                Issue.record("an anonymous read of the registry asking for credentials was not unknown")
                return
            }
            #expect(refused.contains("refused anonymous access"), "\(refused)")
            guard case .unknown(let missing) = await probe.probe("\(LocalRegistry.address)/ergon-test/absent:1") else {
                Issue.record("a missing image was not unknown")
                return
            }
            #expect(missing.contains("MANIFEST_UNKNOWN") || missing.contains("NAME_UNKNOWN"), "\(missing)")
            guard case .unknown(let bad) = await probe.probe("Not An Image") else {
                Issue.record("a bad reference was not unknown")
                return
            }
            #expect(bad.contains("invalid image reference"), "\(bad)")
        }
        try await Self.withProbe(maximumBytes: 1000) { probe in
            guard case .unknown(let capped) = await probe.probe("\(LocalRegistry.address)/ergon-test/noshell:1") else {
                Issue.record("a read past maximumBytes was not unknown")
                return
            }
            #expect(capped.contains("without finding /bin/sh, and reads no more"), "\(capped)")
        }
    }

    @Test("token authentication, a redirect to blob storage, a layer in several gzip members, and a body that stalls")
    func tokenRegistry() async throws {
        try await TokenRegistry.withRunning { address in
            let credentials = ErgonConfig.RegistryAuth(host: address, username: TokenRegistry.user, password: TokenRegistry.password)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: VastClient.httpConfiguration)
            defer { _ = Task { try? await http.shutdown() } }
            let probe = ImageShellProbe(registries: [credentials], httpClient: http)
            // Two probes at once share one reading of the layer.
            async let first = probe.probe("\(address)/team/app:multi")
            async let second = probe.probe("\(address)/team/app:multi")
            #expect(await [first, second] == [.present("/bin/sh → /usr/bin/dash"), .present("/bin/sh → /usr/bin/dash")])
            let counts = try await TokenRegistry.counts(address)
            #expect(counts["/storage/multi"] == 1)

            let hasty = ImageShellProbe(registries: [credentials], httpClient: http, requestTimeout: .seconds(4))
            let started = ContinuousClock.now
            guard case .unknown(let stalled) = await hasty.probe("\(address)/team/app:stall") else {
                Issue.record("a stalled layer was not unknown")
                return
            }
            #expect(stalled.contains("sent nothing for 4.0 seconds while its layers were read"), "\(stalled)")
            // The server holds the body for 60 s: ending well before says the watchdog ended it
            // (the margin is for a machine loaded by the rest of the suite).
            #expect(ContinuousClock.now - started < .seconds(30))
            // A layer that trickles in is stopped by the reading's whole deadline (shorter here than
            // the stall limit, so a loaded machine's late byte cannot end it first).
            let patient = ImageShellProbe(registries: [credentials], httpClient: http, requestTimeout: .seconds(8), maximumDuration: .seconds(3))
            guard case .unknown(let slow) = await patient.probe("\(address)/team/app:drip") else {
                Issue.record("a trickling layer was not unknown")
                return
            }
            #expect(slow.contains("its layers were not read within 3.0 seconds"), "\(slow)")
        }
    }
}
