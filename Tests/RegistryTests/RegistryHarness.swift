// Shared pieces of the registry integration tests: loading the RegistryOCI plugin through
// PluginHost, images to push, and checks of what a registry holds (with skopeo and curl).
import Foundation
import PluginAPI
import PluginHost
import PluginSupport
import TestSupport
import Testing

/// Every registry integration test runs in this suite, one at a time: each starts its own
/// registry, but several at once on two cores make the timing tests (token expiry, stalls,
/// Retry-After) flaky.
@Suite(
    .serialized,
    .enabled(
        if: ExecutableLookup.available("docker-registry", "skopeo", "curl", "openssl", "htpasswd", "tar", "gzip"),
        "needs docker-registry, skopeo, curl, openssl, apache2-utils (see Tests/Tools/README.md)"))
struct RegistryIntegration {}

/// Loads the RegistryOCI plugin the way the host does.
enum RegistryPlugin {
    enum Error: Swift.Error, CustomStringConvertible {
        case libraryMissing(String)
        case noRegistryClient(String, components: [String])
        var description: String {
            switch self {
            case .libraryMissing(let p):
                return "RegistryOCI plugin library not found at \(p): build the package first (swift build --build-tests)"
            case .noRegistryClient(let p, let names):
                return "plugin \(p) offers no RegistryClient component (it has: \(names.joined(separator: ", ")))"
            }
        }
    }

    /// `$KILN_REGISTRY_PLUGIN`, else `libKilnPluginRegistryOCI.so` beside the test bundle.
    static var libraryPath: String {
        if let p = ProcessInfo.processInfo.environment["KILN_REGISTRY_PLUGIN"] { return p }
        return (KilnCommand.productsDirectory ?? ".") + "/libKilnPluginRegistryOCI.so"
    }

    /// Tuning for tests: short back-off (so retries do not take seconds) unless a test says
    /// otherwise; `--plugin-option registry.<name>=<value>` in the CLI.
    static let fastRetries = ["registry.retry-delay": "0.05", "registry.max-retry-delay": "5"]

    /// A client with these options whose log lines (every level) go to `log`.
    static func client(
        _ options: RegistryOptions, log: LogCapture = LogCapture(),
        pluginOptions: [String: String] = fastRetries
    ) throws -> any RegistryClient {
        let path = libraryPath
        guard FileManager.default.fileExists(atPath: path) else { throw Error.libraryMissing(path) }
        let loader = PluginLoader(context: PluginContext(log: log.log, registry: options, options: pluginOptions))
        let plugin = try loader.load(path: path)
        guard let client = plugin.components.compactMap({ $0 as? any RegistryClient }).first else {
            throw Error.noRegistryClient(path, components: plugin.components.map(\.name))
        }
        return client
    }

    /// Options to reach `registry`: plain HTTP for plain and token set-ups, its CA for TLS,
    /// and `dockerConfig` as the credentials directory.
    static func options(
        for registry: RegistryFixture, dockerConfig: String? = nil, pushRetry: Int = 0,
        downloadRetry: Int = 0
    ) -> RegistryOptions {
        var o = RegistryOptions()
        if let c = registry.certificates {
            o.certificates[registry.host] = c.caCertificate
        } else {
            o.insecureRegistries = [registry.host]
        }
        o.dockerConfigDirectory = dockerConfig ?? emptyDockerConfig
        o.pushRetry = pushRetry
        o.downloadRetry = downloadRetry
        o.userAgent = "kiln-tests"
        return o
    }

    /// A DOCKER_CONFIG directory that does not exist (so holds no credentials): the machine's
    /// own `~/.docker/config.json` must never leak into a test.
    static let emptyDockerConfig = "/nonexistent/kiln-tests-no-docker-config"
}

/// An image made for a test: blobs on disk, and the manifest that names them.
struct PushableImage {
    var config: Descriptor
    var layers: [Descriptor]
    var manifest: [UInt8]
    var manifestDigest: Digest
    /// Where each blob's bytes are.
    var paths: [Digest: String]

    var blobs: [Descriptor] { layers + [config] }

    /// An image with one layer per entry of `layerSizes` (random content of about that many
    /// bytes each, so the blobs are that large) in an OCI layout under `scratch`.
    static func make(layerSizes: [Int], in scratch: FixtureDirectory, tag: String = "v1") async throws -> PushableImage {
        let layout = try TestImageLayout(path: scratch.file("layout"))
        let files = layerSizes.enumerated().map { i, size in
            ["layer\(i).bin": TestImageLayout.randomBytes(size), "name.txt": Array("layer \(i)\n".utf8)]
        }
        let image = try await layout.addImage(tag: tag, layers: files, scratch: scratch)
        var paths: [Digest: String] = [:]
        for d in image.layers + [image.config] { paths[d.digest] = layout.blobPath(d.digest) }
        return PushableImage(
            config: image.config, layers: image.layers, manifest: image.manifest,
            manifestDigest: image.manifestDigest, paths: paths)
    }

    /// Pushes blobs then the manifest, as the builder will; returns the digest the client reports.
    @discardableResult
    func push(with client: any RegistryClient, to reference: ImageReference, mountFrom: [ImageReference] = []) async throws -> Digest {
        for blob in blobs {
            try await client.pushBlob(blob, from: paths[blob.digest] ?? "", to: reference, mountFrom: mountFrom)
        }
        return try await client.pushManifest(manifest, mediaType: .ociManifest, to: reference)
    }
}

/// Checks of a registry's content with tools other than kiln.
enum RegistryProbe {
    /// skopeo's flags to reach `registry` (TLS CA directory and credentials when it has them).
    static func skopeoFlags(_ registry: RegistryFixture, prefix: String = "", creds: (String, String)? = nil) -> [String] {
        var flags: [String] = []
        if let c = registry.certificates {
            flags += ["--\(prefix)cert-dir", c.certDirectory]
        } else {
            flags += ["--\(prefix)tls-verify=false"]
        }
        if let (u, p) = creds { flags += ["--\(prefix)creds", "\(u):\(p)"] }
        return flags
    }

    /// `skopeo inspect --raw`: the manifest bytes the registry serves for `reference`.
    static func rawManifest(_ registry: RegistryFixture, _ reference: String, creds: (String, String)? = nil) async throws -> [UInt8] {
        let r = try await ProcessRunner.check(
            "skopeo",
            ["inspect", "--raw"] + skopeoFlags(registry, creds: creds)
                + ["docker://\(registry.host)/\(reference)"])
        return Array(r.stdout.utf8)
    }

    /// `skopeo inspect`: the manifest digest and layer digests skopeo sees.
    static func inspect(_ registry: RegistryFixture, _ reference: String, creds: (String, String)? = nil) async throws -> (
        digest: String, layers: [String]
    ) {
        let r = try await ProcessRunner.check(
            "skopeo",
            ["inspect"] + skopeoFlags(registry, creds: creds)
                + ["docker://\(registry.host)/\(reference)"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return (json?["Digest"] as? String ?? "", json?["Layers"] as? [String] ?? [])
    }

    /// GETs a blob straight from the registry (never through a proxy) and returns the sha256
    /// of what came back, or nil when the registry does not answer 200.
    static func blobDigest(_ registry: RegistryFixture, repository: String, _ digest: Digest, in scratch: FixtureDirectory) async throws
        -> Digest?
    {
        let out = scratch.file("probe-\(digest.encoded.prefix(12))")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await ProcessRunner.run(
            "curl",
            curlFlags(registry) + [
                "-s", "-o", out, "-w", "%{http_code}",
                "\(registry.baseURL)/v2/\(repository)/blobs/\(digest)",
            ])
        guard r.stdout == "200" else { return nil }
        return Digest.sha256(of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
    }

    /// The HTTP status of GET on a manifest, straight from a plain-HTTP registry.
    static func manifestStatus(_ registry: RegistryFixture, repository: String, reference: String) async throws -> String {
        let r = try await ProcessRunner.run(
            "curl",
            curlFlags(registry) + [
                "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Accept: \(MediaType.manifestAccept.map(\.rawValue).joined(separator: ","))",
                "\(registry.baseURL)/v2/\(repository)/manifests/\(reference)",
            ])
        return r.stdout
    }

    private static func curlFlags(_ registry: RegistryFixture) -> [String] {
        registry.certificates.map { ["--cacert", $0.caCertificate] } ?? []
    }
}

/// What a failed operation threw, as the host would show it.
///
/// Call `CaughtFailure.of { … }` on its own line and pass the result to `#require`/`#expect`,
/// never the closure inside the macro: with Swift 6.3, an async closure written inside a
/// `#require(…)` argument ran in place of a later, similar closure of the same test (the later
/// `checkPushPermission` closure executed the earlier `fetchManifest` body with its own captures).
struct CaughtFailure {
    var text: String
    var status: Int?
    var isTemporary: Bool
    var isRegistryFailure: Bool

    /// Runs `body`; nil when it succeeds. Errors that are not `RegistryFailure` are kept too,
    /// marked, so a test can report them instead of crashing on a cast.
    static func of(_ body: () async throws -> Void) async -> CaughtFailure? {
        do {
            try await body()
            return nil
        } catch let f as any RegistryFailure {
            return CaughtFailure(text: "\(f)", status: f.statusCode, isTemporary: f.isTemporary, isRegistryFailure: true)
        } catch {
            return CaughtFailure(
                text: "\(error) (not a RegistryFailure: \(type(of: error)))", status: nil,
                isTemporary: false, isRegistryFailure: false)
        }
    }
}
