// The registry contract: the OCI distribution protocol as the builder needs it.

/// Settings for registry access, from the command line (kaniko's flag names in comments).
public struct RegistryOptions: Sendable, Equatable {
    /// `--insecure`: push over plain HTTP.
    public var insecurePush = false
    /// `--insecure-pull`: pull over plain HTTP.
    public var insecurePull = false
    /// `--insecure-registry`: these hosts use plain HTTP for push and pull.
    public var insecureRegistries: [String] = []
    /// `--skip-tls-verify`: no TLS verification anywhere.
    public var skipTLSVerify = false
    /// `--skip-tls-verify-pull`.
    public var skipTLSVerifyPull = false
    /// `--skip-tls-verify-registry`: no TLS verification for these hosts.
    public var skipTLSVerifyRegistries: [String] = []
    /// `--registry-certificate host=ca.pem`: a CA that applies to that host only.
    public var certificates: [String: String] = [:]
    /// `--registry-client-cert host=cert,key`.
    public var clientCertificates: [String: ClientCertificate] = [:]
    /// Directory holding `config.json` (`$DOCKER_CONFIG`, else `~/.docker`).
    public var dockerConfigDirectory: String?
    /// `--push-retry`: extra attempts for push requests.
    public var pushRetry = 0
    /// `--image-download-retry`: extra attempts for pull requests.
    public var downloadRetry = 0
    /// Blob transfers in flight per registry host.
    public var parallelTransfers = 4
    /// `User-Agent` header value.
    public var userAgent = "kiln"

    public init() {}

    /// True when `host` is reached over plain HTTP for this direction.
    public func usesPlainHTTP(_ host: String, push: Bool) -> Bool {
        insecureRegistries.contains(host) || (push ? insecurePush : insecurePull)
    }

    /// True when TLS verification is skipped for `host`.
    public func skipsTLSVerification(_ host: String, push: Bool) -> Bool {
        skipTLSVerify || skipTLSVerifyRegistries.contains(host) || (!push && skipTLSVerifyPull)
    }
}

public struct ClientCertificate: Sendable, Equatable {
    public var certificatePath: String
    public var keyPath: String
    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// A manifest or index as the registry served it.
public struct FetchedManifest: Sendable, Equatable {
    public var bytes: [UInt8]
    public var mediaType: MediaType
    public var digest: Digest
    public init(bytes: [UInt8], mediaType: MediaType, digest: Digest) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = digest
    }
    public var descriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }
}

/// A client of one kind of registry. Repositories are named by `ImageReference`s whose tag and
/// digest are ignored where only the repository matters.
///
/// Errors thrown should conform to `RegistryFailure` so the host can print the registry's
/// message, the status and a hint. No thrown error or log line may contain credentials.
public protocol RegistryClient: PluginComponent {
    /// Fetches the manifest or index `reference` names (by tag or digest).
    func fetchManifest(_ reference: ImageReference, accept: [MediaType]) async throws -> FetchedManifest

    /// Downloads a blob into `path` (created or truncated), verifying its digest and size
    /// while streaming. On a mismatch the file is removed and an error thrown.
    func fetchBlob(_ descriptor: Descriptor, from repository: ImageReference, to path: String) async throws

    /// True when the repository already has the blob.
    func blobExists(_ digest: Digest, in repository: ImageReference) async throws -> Bool

    /// Uploads the blob stored at `path` unless the repository has it; tries a cross-repository
    /// mount from each of `mountFrom` (same registry) first.
    func pushBlob(_ descriptor: Descriptor, from path: String, to repository: ImageReference, mountFrom: [ImageReference]) async throws

    /// Asks the registry to mount `digest` from `source` into `repository` (same registry) without
    /// uploading it. Returns false when the registry declined (the caller then copies the blob);
    /// throws only when the registry could not be asked.
    func mountBlob(_ digest: Digest, from source: ImageReference, to repository: ImageReference) async throws -> Bool

    /// Uploads a manifest under `reference`'s tag (or its digest when it has no tag) and returns
    /// the digest the registry stored. Call only after every blob it names is pushed.
    func pushManifest(_ bytes: [UInt8], mediaType: MediaType, to reference: ImageReference) async throws -> Digest

    /// Checks before a long build that pushing to `repository` will be allowed.
    func checkPushPermission(_ repository: ImageReference) async throws
}

extension RegistryClient {
    public var kind: PluginKind { .registry }
}

/// An error a registry client throws that the host can explain.
public protocol RegistryFailure: Error, CustomStringConvertible, Sendable {
    /// HTTP status, when there was a response.
    var statusCode: Int? { get }
    /// True when trying again may succeed (5xx, 429, resets, time-outs).
    var isTemporary: Bool { get }
    /// True when the registry refused to overwrite an immutable tag; the host treats it as
    /// success under `--push-ignore-immutable-tag-errors`.
    var isImmutableTag: Bool { get }
}

extension RegistryFailure {
    public var isImmutableTag: Bool { false }
}
