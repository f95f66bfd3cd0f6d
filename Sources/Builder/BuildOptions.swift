import PluginAPI

/// Everything a build needs to know from the command line. Field names follow kaniko's flags
/// (`research/kaniko.md` §1.1); the Host fills this in, tests construct it directly.
public struct BuildOptions: Sendable {
    /// `-f/--dockerfile`: path, absolute or relative to the working directory, else the context.
    public var dockerfile = "Dockerfile"
    /// `-c/--context`: a directory (`dir://` prefix allowed) or a tarball (`tar://path`).
    public var context = "."
    /// `--context-sub-path`.
    public var contextSubPath: String?
    /// `-d/--destination`: image references to push to.
    public var destinations: [ImageReference] = []
    /// `--snapshot-mode`: `full` (default), `time`, `redo` (= time).
    public var snapshotMode = "full"
    /// `--custom-platform`; the host's platform when nil.
    public var platform: Platform?
    /// `--build-arg KEY=VALUE` (a bare KEY takes the environment's value), in order.
    public var buildArgs: [(String, String?)] = []
    /// `--label key=value`, in order.
    public var labels: [(String, String)] = []
    /// `--target`.
    public var target: String?
    /// `--skip-unused-stages`: only the stages the target needs are built (the default, as in
    /// BuildKit); `--skip-unused-stages=false` builds every stage up to the target (kaniko's old default).
    public var skipUnusedStages = true
    /// `--single-snapshot`: one layer per stage.
    public var singleSnapshot = false
    /// `--reproducible`: timestamps of layers, config and history fixed (SOURCE_DATE_EPOCH or 0).
    public var reproducible = false
    /// `SOURCE_DATE_EPOCH`, when set: clamps timestamps even without `--reproducible`.
    public var sourceDateEpoch: Int64?
    /// `--no-push`.
    public var noPush = false
    /// `--oci-layout-path`.
    public var ociLayoutPath: String?
    /// `--tar-path`.
    public var tarPath: String?
    /// `--digest-file`, `--image-name-with-digest-file`, `--image-name-tag-with-digest-file`.
    public var digestFile: String?
    public var imageNameWithDigestFile: String?
    public var imageNameTagWithDigestFile: String?
    /// `--compression`, `--compression-level` (-1 = the compressor's default).
    public var compression: Compression = .gzip
    public var compressionLevel = -1
    /// `--ignore-path`, `--ignore-var-run`.
    public var ignorePaths: [String] = []
    public var ignoreVarRun = true
    /// `--isolation`: how RUN executes: `chroot` (namespaces + chroot + seccomp) or `none`.
    public var isolation = "chroot"
    /// `--kaniko-dir` / `--work-dir`: kiln's working directory (build roots, blobs).
    public var workDirectory: String?
    /// `--cleanup`: remove the build roots at the end.
    public var cleanup = false
    /// `--force-build-metadata`.
    public var forceBuildMetadata = false
    /// Registry settings (`--insecure…`, `--registry-certificate`…).
    public var registry = RegistryOptions()
    /// `--registry-map`, `--registry-mirror`, `--skip-default-registry-fallback`.
    public var registryMaps: [(String, String)] = []
    public var skipDefaultRegistryFallback = false
    /// `--registry-plugin`: the registry client to use (component, plugin name, or path).
    public var registryPlugin = "oci"
    /// `--skip-push-permission-check`, `--push-ignore-immutable-tag-errors`.
    public var skipPushPermissionCheck = false
    public var pushIgnoreImmutableTagErrors = false
    /// `--image-fs-extract-retry`: extra attempts at extracting a base image's layers.
    public var extractRetry = 0
    /// `--cache-dir`, `--cache-ttl` (seconds) for base images.
    public var cacheDirectory: String?
    public var cacheTTL: Int64 = 336 * 3600
    /// The environment build args fall back to, and `SOURCE_DATE_EPOCH` comes from.
    public var environment: [String: String] = [:]

    public init() {}

    /// The platform the build targets.
    public var targetPlatform: Platform { platform ?? .host }

    /// The fixed timestamp for layers, config and history, if any.
    public var fixedTimestamp: Int64? {
        if let e = sourceDateEpoch { return e }
        return reproducible ? 0 : nil
    }
}
