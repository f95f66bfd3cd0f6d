// What a `kiln` command line needs to reach a test registry, for end-to-end tests that push
// through the CLI (`KilnCommand.run`).
import Foundation

extension RegistryFixture {
    /// kiln's flags (kaniko's names) to reach this registry: `--insecure-registry HOST` for
    /// plain HTTP, `--registry-certificate HOST=ca.pem` for TLS.
    public var kilnFlags: [String] {
        if let c = certificates { return ["--registry-certificate", "\(host)=\(c.caCertificate)"] }
        return ["--insecure-registry", host]
    }

    /// `HOST/repository:tag`, for `--destination` and base images.
    public func reference(_ repository: String, tag: String = "latest") -> String { "\(host)/\(repository):\(tag)" }

    /// Writes a docker config with `user`/`password` for this registry into `directory` and
    /// returns the environment entry that points kiln at it.
    public func dockerConfigEnvironment(user: String, password: String, in directory: String) throws -> [String: String?] {
        try DockerConfigFile.write([host: .basic(user: user, password: password)], to: directory)
        return ["DOCKER_CONFIG": directory]
    }

    /// The manifest digest skopeo sees for `repository:tag`, the independent check of a push.
    public func skopeoDigest(_ repository: String, tag: String = "latest", creds: (String, String)? = nil) async throws -> String {
        var args = ["inspect", "--format", "{{.Digest}}"]
        if let c = certificates { args += ["--cert-dir", c.certDirectory] } else { args += ["--tls-verify=false"] }
        if let (u, p) = creds { args += ["--creds", "\(u):\(p)"] }
        let r = try await ProcessRunner.check("skopeo", args + ["docker://\(reference(repository, tag: tag))"])
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Requests that carried blob bytes (`HTTPRequestRecord.carriesBlobData`) the registry has
    /// answered, for "pushed twice uploads nothing" checks.
    public func blobUploadCount() async -> Int {
        await settledAccessLog().filter(\.carriesBlobData).count
    }
}
