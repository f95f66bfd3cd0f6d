import LayerCache
import Outputs
import PluginAPI

/// What a build needs to know, grouped by concern. The Host maps kaniko's flags onto these
/// (Sources/Host/Options); tests construct them directly. Each part of the engine reads only
/// the group it needs.
public struct BuildOptions: Sendable {
    /// The Dockerfile, context, build args, target, labels.
    public var source: SourceOptions
    /// The platform the image is built for (`--custom-platform`, else this machine's).
    public var platform: Platform
    /// Several `--custom-platform`s: each is built (as if it were `platform`) and the result is
    /// one image index. Empty or one entry: a single-platform build of `platform`.
    public var platforms: [Platform] = []
    /// Compression, single snapshot, timestamps.
    public var layers: LayerOptions
    /// Isolation, working directory, ignored paths.
    public var execution: ExecutionOptions
    /// Mirrors, fallback, base-image cache, extraction retries.
    public var baseImages: BaseImageOptions
    /// Registries, OCI layout, tarball, digest files.
    public var outputs: OutputOptions
    /// The layer cache (`--cache`, `--cache-repo`…).
    public var cache = LayerCacheOptions()

    public init(
        source: SourceOptions, platform: Platform = .host, layers: LayerOptions = LayerOptions(),
        execution: ExecutionOptions = ExecutionOptions(), baseImages: BaseImageOptions = BaseImageOptions(),
        outputs: OutputOptions = OutputOptions()
    ) {
        self.source = source
        self.platform = platform
        self.layers = layers
        self.execution = execution
        self.baseImages = baseImages
        self.outputs = outputs
    }
}

/// What is built: the Dockerfile, the context, and what selects and parameterises stages.
public struct SourceOptions: Sendable {
    /// `-f/--dockerfile`: path, absolute or relative to the working directory, else the context.
    public var dockerfile: String
    /// `-c/--context`: a directory (`dir://` prefix allowed) or a tarball (`tar://path`).
    public var context: String
    /// `--context-sub-path`.
    public var contextSubPath: String?
    /// `--build-arg KEY=VALUE`, in order; the Host resolves a bare `KEY` from the environment.
    public var buildArgs: [(String, String?)] = []
    /// `--label key=value`, in order, added to every stage's config.
    public var labels: [(String, String)] = []
    /// `--target`.
    public var target: String?
    /// Only the stages the target needs (BuildKit's default); false builds every stage up to it.
    public var skipUnusedStages = true
    /// The environment proxy variables (`HTTP_PROXY`…) default from.
    public var environment: [String: String] = [:]
    /// kaniko's `--git` options for a git context.
    public var git = GitCheckout.Options()
    /// `--build-context name=…` (BuildKit): what `FROM name` and `COPY --from=name` use instead.
    public var namedContexts: [String: NamedContext] = [:]

    public init(dockerfile: String = "Dockerfile", context: String = ".") {
        self.dockerfile = dockerfile
        self.context = context
    }
}

/// How layers are written.
public struct LayerOptions: Sendable {
    /// `--compression`, `--compression-level` (nil: the compressor's default).
    public var compression: Compression = .gzip
    public var compressionLevel: Int?
    /// `--single-snapshot`: one layer per stage.
    public var singleSnapshot = false
    /// Timestamps of layer entries, config and history.
    public var timestamps: TimestampPolicy = .now

    public init() {}

    /// `--reproducible` and `SOURCE_DATE_EPOCH` decide this.
    public enum TimestampPolicy: Sendable, Hashable {
        /// Files keep their times; config and history say when the build ran.
        case now
        /// Every timestamp is clamped to these seconds since the epoch.
        case fixed(Int64)
    }

    /// The fixed timestamp, if any.
    public var fixedTimestamp: Int64? {
        if case .fixed(let t) = timestamps { return t }
        return nil
    }
}

/// Where and how instructions execute.
public struct ExecutionOptions: Sendable {
    /// `--isolation`: how RUN executes.
    public enum Isolation: String, Sendable, CaseIterable {
        /// Namespaces, chroot and seccomp inside a build root of its own.
        case chroot
        /// In place: every stage's root is `/` itself (kaniko's model).
        case none
    }

    /// `--cross`: how RUN runs binaries of another architecture than this machine's.
    public enum CrossMode: String, Sendable, CaseIterable {
        /// Emulate (QEMU user mode through the cross-build plugin) when a stage needs it.
        case auto
        /// As `auto`, but the emulator must be available for every foreign platform.
        case qemu
        /// Never emulate: a foreign RUN fails before anything is pulled.
        case native
    }

    /// How RUN executes (`--isolation`).
    public var isolation: Isolation = .chroot
    /// How RUN runs foreign binaries (`--cross`).
    public var cross: CrossMode = .auto
    /// `--jobs`: how many platforms build at once; nil is one per core.
    public var jobs: Int?
    /// `--stage-jobs` / `KILN_STAGE_JOBS`: how many stages that do not depend on each other build
    /// at once; nil is one per core. In place (`isolation == .none`) always 1: there is one `/`.
    public var stageJobs: Int?
    /// `--kaniko-dir` / `--work-dir`: kiln's working directory (kept unless `cleanup`); nil
    /// makes a fresh one under `temporaryDirectory`, removed afterwards.
    public var workDirectory: String?
    /// Where a fresh working directory goes (`$TMPDIR`, else /var/tmp).
    public var temporaryDirectory: String?
    /// `--cleanup`: remove the build roots at the end.
    public var cleanup = false
    /// `--ignore-path`: never extracted, snapshotted or wiped.
    public var ignorePaths: [String] = []
    /// `--ignore-var-run` (in place only).
    public var ignoreVarRun = true
    /// Extra paths an in-place build must not touch (kiln's own binaries and plugins).
    public var protectedPaths: [String] = []
    /// The User-Agent of `ADD <url>` downloads.
    public var userAgent = "kiln"
    /// `RUN --mount=type=secret|ssh|cache`: `--secret`, `--ssh`, `--run-cache-dir`.
    public var runMounts = RunMountOptions()

    public init() {}
}

/// Where base images come from.
public struct BaseImageOptions: Sendable {
    /// `--registry-map`, `--registry-mirror`: (registry, mirror[/prefix]) pairs, tried in order.
    public var registryMaps: [(String, String)] = []
    /// `--skip-default-registry-fallback`.
    public var skipDefaultRegistryFallback = false
    /// `--cache-dir`, `--cache-ttl` (seconds; negative never hits) for base images.
    public var cacheDirectory: String?
    public var cacheTTL: Int64 = 336 * 3600
    /// `--image-fs-extract-retry`: extra attempts at extracting a base image's layers.
    public var extractRetry = 0

    public init() {}
}
