import ArgumentParser

/// kaniko's executor flags that shape what is built (`research/kaniko.md` §1.1).
struct BuildFlags: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("dockerfile")], help: "Path to the Dockerfile (absolute, or relative to the context).")
    var dockerfile = "Dockerfile"

    @Option(
        name: [.customShort("c"), .customLong("context")],
        help: ArgumentHelp(
            "Build context: a directory (dir://DIR), a tarball (tar://FILE, tar://stdin), a git URL (git://…, "
                + "https://….git#ref:subdir, git@host:repo) or an http(s) tarball."))
    var context = "."

    @Option(name: .customLong("context-sub-path"), help: "Sub-directory of the context to use as the context.")
    var contextSubPath: String?

    @Option(
        name: .customLong("build-arg"),
        help: ArgumentHelp("Build argument KEY=VALUE (a bare KEY takes the environment's value); repeatable.", valueName: "KEY=VALUE"))
    var buildArgs: [String] = []

    @Option(name: .customLong("label"), help: ArgumentHelp("Label key=value added to the image; repeatable.", valueName: "key=value"))
    var labels: [String] = []

    @Option(name: .customLong("target"), help: "Build up to this stage (name or index).")
    var target: String?

    @Flag(
        name: .customLong("skip-unused-stages"), inversion: .prefixedNo,
        help: "Build only the stages the target depends on (the default); --no-skip-unused-stages builds every stage up to the target.")
    var skipUnusedStages = true

    @Option(
        name: [.customLong("custom-platform"), .customLong("platform")],
        help: ArgumentHelp(
            "Target platform os/arch[/variant]; default: this machine's. Repeat it or give a comma list to build several "
                + "platforms into one image index.", valueName: "platform"))
    var customPlatforms: [String] = []

    @Option(
        name: .customLong("snapshot-mode"),
        help: "How changes are detected after RUN: full (content hashes), time (stat data only); redo = time.")
    var snapshotMode = "full"

    @Flag(name: .customLong("single-snapshot"), inversion: .prefixedNo, help: "Take one snapshot per stage (one layer per stage).")
    var singleSnapshot = false

    @Flag(
        name: .customLong("reproducible"), inversion: .prefixedNo,
        help: "Fixed timestamps (SOURCE_DATE_EPOCH or 0) for byte-identical images.")
    var reproducible = false

    @Option(name: .customLong("compression"), help: "Layer compression: gzip (default), zstd or none.")
    var compression = "gzip"

    @Option(name: .customLong("compression-level"), help: "Compression level; -1 for the compressor's default.")
    var compressionLevel = -1

    @Option(name: .customLong("ignore-path"), help: "Path excluded from snapshots and extraction; repeatable.")
    var ignorePaths: [String] = []

    @Flag(name: .customLong("ignore-var-run"), inversion: .prefixedNo, help: "Exclude /var/run from snapshots.")
    var ignoreVarRun = true

    @Option(
        name: .customLong("isolation"),
        help: ArgumentHelp(
            "How RUN executes: chroot (namespaces, chroot, seccomp), none (in place, kaniko's model; only in a container "
                + "unless --force) or auto (chroot where the kernel allows it, else in place inside a container)."))
    var isolation = "auto"

    @Flag(
        name: .customLong("check"),
        help: "Only run the Dockerfile's build checks (BuildKit's lint rules) and print their warnings; build nothing.")
    var checkOnly = false

    @Option(
        name: .customLong("cross"),
        help: "RUN for another architecture: auto (QEMU user mode when needed), qemu (require it), native (never emulate).")
    var cross = "auto"

    @Option(
        name: .customLong("jobs"),
        help: ArgumentHelp(
            "How many platforms build at once (several --custom-platform values); default: one per core. "
                + "1 builds them one after the other."))
    var jobs: Int?

    @Option(
        name: .customLong("stage-jobs"),
        help: ArgumentHelp(
            "How many stages that do not depend on each other build at once; default: $KILN_STAGE_JOBS, else one per core. "
                + "1 builds them one after the other; --isolation none always does."))
    var stageJobs: Int?

    @Option(
        name: [.customLong("kaniko-dir"), .customLong("work-dir")],
        help: "kiln's working directory (build roots, blobs); default: a fresh directory under $TMPDIR.")
    var workDirectory: String?

    @Flag(name: .customLong("cleanup"), inversion: .prefixedNo, help: "Remove the build roots when done.")
    var cleanup = false

    @Flag(
        name: .customLong("force-build-metadata"), inversion: .prefixedNo,
        help: "Also add layers and history for metadata-only instructions.")
    var forceBuildMetadata = false

    @Flag(
        name: .customLong("use-new-run"), inversion: .prefixedNo,
        help: "Accepted for kaniko compatibility: kiln's RUN change detection is always stat-based and incremental.")
    var useNewRun = false

    @Flag(
        name: .customLong("force"), inversion: .prefixedNo,
        help: "Build in place (--isolation none) even where nothing says this is a container (kaniko's --force).")
    var force = false

    @Option(
        name: .customLong("git"),
        help: "Options for git contexts: branch=…,single-branch=…,recurse-submodules=…,insecure-skip-tls=…; repeatable.")
    var git: [String] = []

    @Option(
        name: .customLong("secret"),
        help: ArgumentHelp(
            "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=NAME (buildx's syntax); repeatable.",
            valueName: "id=…,src=…|env=…"))
    var secrets: [String] = []

    @Option(
        name: .customLong("ssh"),
        help: ArgumentHelp(
            "An ssh agent socket for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK) or ID=SOCKET; repeatable.",
            valueName: "default|id=socket"))
    var ssh: [String] = []

    @Option(
        name: .customLong("run-cache-dir"),
        help:
            "Where RUN --mount=type=cache directories are kept between builds (default: <kaniko-dir>/run-cache, else /var/cache/kiln/run-cache)."
    )
    var runCacheDirectory: String?

    @Option(
        name: .customLong("build-context"),
        help: ArgumentHelp(
            "A named context for FROM name and COPY --from=name: a directory, docker-image://REF, oci-layout://PATH[:TAG|@DIGEST], "
                + "a git URL or an http(s) tarball; repeatable.", valueName: "name=value"))
    var buildContexts: [String] = []
}
