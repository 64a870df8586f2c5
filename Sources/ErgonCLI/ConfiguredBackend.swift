import ErgonCore
import ErgonDocker
import ErgonVast
import Foundation
import Logging

/// The backend a configuration's `mode` selects, lent to a closure so its clients shut down.
enum ConfiguredBackend {
    /// Runs `body` with the backend of `config.mode`, prepared (reachable, usable). `gpus` are
    /// the docker devices resolved at start; vast instances bring their own.
    static func with<T: Sendable>(
        _ config: ErgonConfig, gpus: [String] = [], logger: Logger = Logger(label: "ergon"),
        _ body: (any Backend) async throws -> T
    ) async throws -> T {
        switch config.mode {
        case .docker:
            return try await DockerBackend.withBackend(
                settings: config.docker, agentID: config.agentID, gpus: gpus,
                imageRecord: ImageUsageRecord(cacheDirectory: config.cacheDirectory, logger: logger), logger: logger
            ) { backend in
                try await prepared(backend)
                return try await body(backend)
            }
        case .vast:
            return try await VastBackend.withBackend(
                settings: config.vast, agentID: config.agentID, warmHostsFile: WarmHosts.path(cacheDirectory: config.cacheDirectory),
                hostRecordFile: HostReputation.path(cacheDirectory: config.cacheDirectory), logger: logger
            ) { backend in
                try await prepared(backend)
                return try await body(backend)
            }
        }
    }

    private static func prepared(_ backend: any Backend) async throws {
        do {
            try await backend.prepare()
        } catch {
            throw EnvironmentError("\(error)")
        }
    }
}

extension OfferQuery {
    /// The config loader's check of `vast_api.offer_filters`: the same parser and rules the
    /// backend uses.
    static let configCheck: ConfigLoader.OfferFilterCheck = { text in
        do {
            _ = try OfferSelection.make(agentFilters: text, maxDPH: nil, diskGB: 20)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
