// `--secret` and `--ssh` as buildx spells them (buildx `build/secrets.go`, `build/ssh.go`), and
// that a secret's value never shows in a description.
import Builder
import Foundation
import TestSupport
import Testing

@Suite("--secret and --ssh values")
struct RunMountOptionsTests {
    @Test func secretSources() throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let file = try tree.write("s", "from-file")
        var options = RunMountOptions()
        let env = ["TOKEN": "from-env", "bare": "bare-env"]
        try options.addSecret("id=a,src=\(file)", environment: env)
        try options.addSecret("id=b,env=TOKEN", environment: env)
        try options.addSecret("type=env,id=c,src=TOKEN", environment: env)
        try options.addSecret("bare", environment: env)
        try options.addSecret("id=\(file)", environment: env)
        #expect(options.secrets["a"]?.bytes == Array("from-file".utf8))
        #expect(options.secrets["b"]?.bytes == Array("from-env".utf8))
        #expect(options.secrets["c"]?.bytes == Array("from-env".utf8))
        #expect(options.secrets["bare"]?.bytes == Array("bare-env".utf8))
        #expect(options.secrets[file]?.bytes == Array("from-file".utf8))
        #expect("\(options.secrets["a"]!)" == "<secret, 9 bytes>")
        #expect(!String(reflecting: options).contains("from-file"))
    }

    @Test(arguments: [
        ("id=a,src=/x,env=Y", "--secret: cannot use both source and env for secret a"),
        ("id=a,type=ssh", "--secret: unsupported secret type \"ssh\""),
        ("id=a,color=red", "--secret: unexpected key 'color' in 'color=red'"),
        ("src=/x", "--secret: id is required in 'src=/x'"),
        ("id=a,env=KILN_UNSET_VARIABLE", "--secret id=a: the environment variable KILN_UNSET_VARIABLE is not set"),
    ])
    func badSecrets(spec: String, message: String) {
        var options = RunMountOptions()
        #expect(throws: (any Error).self) { try options.addSecret(spec, environment: [:]) }
        do { try options.addSecret(spec, environment: [:]) } catch { #expect("\(error)" == message) }
    }

    @Test func sshSockets() throws {
        var options = RunMountOptions()
        try options.addSSH("default", environment: ["SSH_AUTH_SOCK": "/run/agent"])
        try options.addSSH("git=/a.sock,/b.sock", environment: [:])
        #expect(options.sshAgents == ["default": "/run/agent", "git": "/a.sock"])
        #expect(throws: RunMountOptions.Error.noAgent) { try options.addSSH("default", environment: [:]) }
    }
}
