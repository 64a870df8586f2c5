import Testing

@testable import ErgonCLI

/// How an environment file is read for the permission warning.
@Suite("secret file check")
struct SecretFileCheckTests {
    @Test("environment file lines are read as systemd reads them")
    func assignments() {
        let text = """
            # a comment
            ; another
              export A_TOKEN = "quoted value"
            B='single'
            C=plain=with=equals

            not an assignment
            D=
            """
        let read = SecretFileCheck.assignments(in: text)
        #expect(read.map(\.name) == ["A_TOKEN", "B", "C", "D"])
        #expect(read.map(\.value) == ["quoted value", "single", "plain=with=equals", ""])
    }

    @Test("a variable's name says whether it holds a secret", arguments: [
        ("VAST_API_KEY", true), ("AWS_SECRET_ACCESS_KEY", true), ("AWS_SESSION_TOKEN", true), ("PGPASSWORD", true),
        ("ERGON_OPERATOR_TOKEN", true), ("SSH_KEY", true), ("AWS_ACCESS_KEY_ID", false), ("AWS_REGION", false),
        ("RUST_LOG", false),
    ])
    func namesSecret(name: String, secret: Bool) {
        #expect(SecretFileCheck.namesSecret(name) == secret)
    }
}
