import ErgonCore
import AsyncHTTPClient
import Foundation

extension RegistrySession {
    /// The `Authorization` a 401 asks for: a token from the realm of a `Bearer` challenge (with
    /// the configured credentials, else anonymous), or the credentials themselves for `Basic`.
    func authorize(after answer: Answer) async throws -> String {
        let challenges = answer.header("WWW-Authenticate").compactMap(RegistryChallenge.init(header:))
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            return "Bearer " + (try await token(for: bearer))
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let basic = basicAuthorization else { throw refusal(answer, what: "manifest \(reference.manifestReference)") }
            return basic
        }
        let offered = challenges.map(\.scheme).joined(separator: ", ")
        throw RegistryError(
            .unauthorized, "\(reference): \(reference.registry) asks for authentication Ergon does not speak (\(offered.isEmpty ? "no challenge" : offered))")
    }

    /// `Basic …` from the configured credentials; nil without any.
    var basicAuthorization: String? {
        credentials.map { "Basic " + Data("\($0.username):\($0.password)".utf8).base64EncodedString() }
    }

    /// Gets a pull token from the challenge's realm (Docker's token authentication).
    func token(for challenge: RegistryChallenge) async throws -> String {
        guard let realm = challenge.parameters["realm"], let realmURL = URL(string: realm),
              let scheme = realmURL.scheme?.lowercased(), scheme == "https" || scheme == "http", let realmHost = realmURL.host
        else {
            throw RegistryError(.malformed, "\(reference): \(reference.registry) sent a Bearer challenge without a usable realm")
        }
        var query: [(String, String)] = []
        if let service = challenge.parameters["service"] { query.append(("service", service)) }
        query.append(("scope", challenge.parameters["scope"] ?? "repository:\(reference.repository):pull"))
        let url = realm + (realm.contains("?") ? "&" : "?")
            + query.map { "\($0.0)=\(VastClient.percentEncode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "ergon")
        if let basic = basicAuthorization {
            // Credentials travel only over TLS or to this machine.
            guard scheme == "https" || ImageReference.isLoopback(host: realmHost) else {
                throw RegistryError(
                    .unauthorized, "\(reference): the token service of \(reference.registry) is plain HTTP (\(realmHost)); Ergon does not send credentials there")
            }
            request.headers.add(name: "Authorization", value: basic)
        }
        let (answer, _) = try await send(request, host: realmHost)
        switch answer.status {
        case 200..<300:
            let json = try? JSONValue.decode(Data(answer.body))
            guard let token = json?["token"]?.stringValue ?? json?["access_token"]?.stringValue, !token.isEmpty else {
                throw RegistryError(.malformed, "\(reference): the token service at \(realmHost) answered no token")
            }
            return token
        case 401, 403:
            throw credentials == nil
                ? RegistryError(
                    .unauthorized,
                    "\(reference): the token service at \(realmHost) refused anonymous access; add credentials for host \(reference.registry) to vast_api.registries")
                : RegistryError(
                    .unauthorized, "\(reference): the token service at \(realmHost) refused the credentials vast_api.registries gives for \(reference.registry)")
        case 429, 500...:
            throw RegistryError(.unreachable, "\(reference): the token service at \(realmHost) answered \(answer.status)")
        default:
            throw RegistryError(.malformed, "\(reference): the token service at \(realmHost) answered \(answer.status)")
        }
    }
}
