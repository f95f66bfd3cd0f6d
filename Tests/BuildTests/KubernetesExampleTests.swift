// examples/kubernetes/ as a user runs it, with `podman kube play` standing in for a cluster:
// kiln's image, the registry Secret and the pod YAML exactly as shipped, only the placeholders
// filled in (as `envsubst` would). The registry wants a token for every pull and push, so the
// build works only if the Secret reached /kaniko/.docker/config.json.
import Foundation
import TestSupport
import Testing

extension EndToEnd.KilnImage {
    static let examples = BuildProducts.packageRoot + "/examples/kubernetes"

    /// `text` with every `${NAME}` of `values` replaced; fails when a placeholder outside a comment
    /// is left, so a new one in the YAML cannot go unnoticed.
    static func fillIn(_ file: String, _ values: [String: String]) throws -> String {
        var text = try String(contentsOfFile: examples + "/" + file, encoding: .utf8)
        for (name, value) in values { text = text.replacingOccurrences(of: "${\(name)}", with: value) }
        let left = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") && $0.contains("${") }
        try #require(left.isEmpty, "placeholders left in \(file): \(left)")
        return text
    }

    /// podman before 4.4 (Debian 12 has 4.3.1) mounts a kube Secret's values undecoded.
    static func podmanMountsSecretsUndecoded(_ podman: Podman) async throws -> Bool {
        let version = try await podman.command(["version", "--format", "{{.Client.Version}}"])
        let parts = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").compactMap { Int($0) }
        return parts.count >= 2 && (parts[0], parts[1]) < (4, 4)
    }

    @Test("examples/kubernetes under `podman kube play`: the Secret's config.json, a RUN, pushed; `kube down` cleans up")
    func kubernetesExample() async throws {
        _ = try ExecutableLookup.require("catatonit")  // the pod's infra container (scripts/setup.sh --tests)
        let work = try FixtureDirectory(prefix: "kiln-kube")
        defer { work.remove() }
        let tar = try await Self.buildImage(in: work)
        let (user, password) = ("builder", "kube-s3cret")
        let tokens = TokenIssuerFixture.Configuration(
            users: [user: password], grants: [.init(account: user, name: "*", actions: ["pull", "push"])])
        try await withRegistry(.token(tokens)) { registry in
            let layout = try await BaseImageFixture.shared.layout(.busybox)
            try await ProcessRunner.check(
                "skopeo",
                [
                    "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "\(user):\(password)", "oci:\(layout):latest",
                    "docker://\(registry.host)/base/busybox:latest",
                ])
            try work.makeDirectory("context")
            try work.write(
                "context/Dockerfile", "FROM \(registry.host)/base/busybox:latest\nRUN echo built-in-a-pod > /made-by-run\nCOPY note /note\n"
            )
            try work.write("context/note", "from the volume\n")

            let podman = try await Podman.make()
            do { try await Self.playExample(podman, registry: registry, work: work, tar: tar, user: user, password: password) } catch {
                await Self.tearDown(podman, work: work)
                throw error
            }
            await Self.tearDown(podman, work: work)
        }
    }

    /// `kube down` (also after a failure), then the podman store with what it holds.
    static func tearDown(_ podman: Podman, work: FixtureDirectory) async {
        if FileManager.default.fileExists(atPath: work.url("pod.yaml")) {
            _ = try? await podman.command(["kube", "down", work.url("pod.yaml")])
        }
        await podman.remove()
    }

    static func playExample(
        _ podman: Podman, registry: RegistryFixture, work: FixtureDirectory, tar: String, user: String, password: String
    ) async throws {
        let loaded = try await podman.command(["load", "--quiet", "--input", tar])
        try #require(loaded.succeeded, "\(loaded)")
        let image = "docker.io/library/kiln:debug"
        let destination = "\(registry.host)/team/app:kube"
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        let configJSON = #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#
        let config = Data(configJSON.utf8).base64EncodedString()
        try work.write("secret.yaml", try Self.fillIn("registry-secret.yaml", ["DOCKER_CONFIG_JSON": config]))
        let podYAML = try Self.fillIn(
            "kiln-pod.yaml", ["KILN_IMAGE": image, "DESTINATION": destination, "CONTEXT_DIR": work.url("context")])
        try work.write("pod.yaml", podYAML)

        // The host's network: this machine has no container networking (containers.conf).
        let secret = try await podman.command(["kube", "play", work.url("secret.yaml")])
        try #require(secret.succeeded, "\(secret)")
        if try await Self.podmanMountsSecretsUndecoded(podman) {
            // Debian 12's podman 4.3 writes a Secret's `data` into the volume still in base64
            // (and ignores `stringData` and `items`): the same secret, stored the way that
            // podman then mounts as the decoded config.json.
            try work.write(
                "secret-podman43.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kiln-registry\ndata:\n  config.json: '\(configJSON)'\n")
            _ = try await podman.command(["secret", "rm", "kiln-registry"])
            let created = try await podman.command(["secret", "create", "kiln-registry", work.url("secret-podman43.yaml")])
            try #require(created.succeeded, "\(created)")
        }
        let play = try await podman.command(["kube", "play", "--network", "host", work.url("pod.yaml")])
        try #require(play.succeeded, "\(play)")
        let wait = try await podman.command(["wait", "kiln-kiln"], timeout: 600)
        let logs = try await podman.command(["logs", "kiln-kiln"])
        #expect(wait.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the pod's kiln failed: \(wait)\n\(logs)")
        #expect((logs.stdout + logs.stderr).contains("RUN runs in place"), "\(logs)")

        let pushed = try FixtureDirectory(prefix: "kiln-kube-pushed")
        defer { pushed.remove() }
        try await ProcessRunner.check(
            "skopeo",
            [
                "copy", "--quiet", "--src-tls-verify=false", "--src-creds", "\(user):\(password)", "docker://\(destination)",
                "oci:\(pushed.url("layout")):app",
            ])
        try await ProcessRunner.check("umoci", ["unpack", "--image", "\(pushed.url("layout")):app", pushed.url("bundle")])
        #expect(try String(contentsOfFile: pushed.url("bundle/rootfs/made-by-run"), encoding: .utf8) == "built-in-a-pod\n")
        #expect(try String(contentsOfFile: pushed.url("bundle/rootfs/note"), encoding: .utf8) == "from the volume\n")

        let down = try await podman.command(["kube", "down", work.url("pod.yaml")])
        #expect(down.succeeded, "\(down)")
        let pods = try await podman.command(["pod", "ps", "--quiet"])
        #expect(pods.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "pods left after kube down: \(pods)")
    }
}
