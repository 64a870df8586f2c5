import ErgonCore
import Foundation
import Testing

@testable import ErgonServer

private let tlsToolsPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

@Suite("the server over TLS, on a live port")
struct TLSServerTests {
    @Test(
        "with server.tls set it speaks HTTPS, and upload URLs without public_url use https",
        .enabled(if: tlsToolsPresent, "needs /usr/bin/openssl (to make a certificate) and /usr/bin/curl (to call the server)"))
    func https() async throws {
        let fixture = try await ServerFixture.make(publicURL: nil)
        defer { fixture.remove() }
        let cert = fixture.directory + "/cert.pem"
        let key = fixture.directory + "/key.pem"
        let (made, makeOutput) = try await runProgram(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
            environment: ProcessInfo.processInfo.environment)
        try #require(made == 0, "openssl could not make a certificate:\n\(makeOutput)")
        var config = fixture.server.config
        config.tls = .init(certificateFile: cert, keyFile: key)
        let server = ErgonServer(config: config, dependencies: fixture.server.dependencies)
        let (aID, token) = (fixture.a.id.uuidString.lowercased(), fixture.tokenA.value)
        let (status, output) = try await withRunningServer(server, logger: fixture.logs.logger()) { port in
            try await runProgram(
                "/usr/bin/curl",
                ["-sk", "--fail-with-body", "-H", "Authorization: Ponos \(token)", "-H", "Content-Type: application/json",
                 "--data", #"{"path": "x.txt", "size": 1}"#, "https://127.0.0.1:\(port)/api/v1/task/\(aID)/artifacts/"],
                environment: ProcessInfo.processInfo.environment)
        }
        #expect(status == 0, "curl failed: \(output)")
        #expect(output.contains(#""s3_put_url":"https://127.0.0.1:"#), "\(output)")
    }

    @Test("a TLS certificate that cannot be read stops the start with a message naming the setting")
    func badCertificate() async throws {
        let fixture = try await ServerFixture.make()
        defer { fixture.remove() }
        var config = fixture.server.config
        config.tls = .init(certificateFile: fixture.directory + "/missing.pem", keyFile: fixture.directory + "/missing-key.pem")
        let server = ErgonServer(config: config, dependencies: fixture.server.dependencies)
        #expect {
            _ = try server.makeApplication()
        } throws: { error in
            "\(error)".contains("server.tls_cert")
        }
    }
}
