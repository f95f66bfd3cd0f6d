import Archive
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import ImageStore
import Interruption
import Outputs
import PluginAPI
import SystemCalls

/// What a build produced.
public struct BuildResult: Sendable {
    /// The manifest digest (as pushed, when pushed); the index digest for several platforms.
    public var digest: Digest
    /// The image in the build's blob store (valid until the working directory is removed: kept
    /// when `ExecutionOptions.workDirectory` is given and `cleanup` is off).
    public var image: Image
    /// Every platform's image, in the order of `BuildOptions.platforms` (just `image` for one).
    public var images: [Image]
}

/// Builds the Dockerfile the options name with the given components, and writes or pushes the
/// image.
public struct ImageBuilder: Sendable {
    /// What to build and where the result goes.
    public var options: BuildOptions
    /// The snapshot strategy and registry client to use.
    public var components: BuildComponents
    /// Where progress lines go.
    public var log: BuildLog

    public init(options: BuildOptions, components: BuildComponents, log: BuildLog) {
        self.options = options
        self.components = components
        self.log = log
    }

    /// Runs the build: one image, or with several `platforms` one image per platform and an
    /// index naming them.
    /// - Throws: `KilnError` (code, message, Dockerfile location, cause).
    public func run() async throws -> BuildResult {
        // Pulls and pushes report to the log's progress display; every phase to the timings.
        let timings = BuildTimings()
        let observer: (any TransferObserver)? = log.progress
        return try await BuildTimings.$current.withValue(timings) {
            try await TransferProgress.$observer.withValue(observer) {
                var builder = self
                while true {
                    do { return try await builder.runTimed(timings) } catch {
                        // A cache hit whose layer could not be downloaded: once more without it.
                        guard let unavailable = StepCache.UnavailableLayer.find(in: error),
                            !builder.options.cache.distrusted.isSuperset(of: unavailable.keys)
                        else { throw error }
                        log.warning("\(unavailable); building again without the cache entries that named it")
                        builder.options.cache.distrusted.formUnion(unavailable.keys)
                    }
                }
            }
        }
    }

    private func runTimed(_ timings: BuildTimings) async throws -> BuildResult {
        let outputs = ImageOutputs(options: options.outputs, log: log.pluginSink)
        // Fail before a long build, not after it.
        let pusher =
            try options.outputs.pushes
            ? ImagePusher(options: options.outputs, client: components.registryClient(), log: log.pluginSink) : nil
        let (workDirectory, owned) = try makeWorkDirectory()
        // An interrupted build's directory is of no use, even one under --kaniko-dir.
        let interruptToken = InterruptCleanup.removeOnInterrupt(workDirectory)
        defer {
            if owned || options.execution.cleanup { try? removeTree(workDirectory) }
            InterruptCleanup.forget(interruptToken)
        }
        // Runs before the removal above: the overlay roots must be unmounted first, also when
        // the working directory is kept.
        let overlays = OverlayRoots()
        defer { overlays.unmountAll() }
        // A git, http(s) or tar context becomes a directory before the Dockerfile is read.
        var builder = self
        builder.options.source = try await Self.resolveContexts(options, workDirectory: workDirectory, log: log)
        let report = try builder.check()
        for warning in report.warnings { log.warning(warning.description) }
        if let error = report.error { throw KilnError.dockerfile(error) }
        let platforms = options.platforms.count > 1 ? options.platforms : [options.platform]
        // One cache (and one upload queue) for every platform's session.
        let cache = StepCache.make(options, components: components, workDirectory: workDirectory, log: log)
        if let cache { log.info("layer cache: \(cache.repository.name)") }
        // One record of compressed blobs for every platform; uploads start as layers are stored.
        let compressed = CompressedLayers()
        let uploads = try pusher.map { _ in
            EarlyUploads(options: options.outputs, client: try components.registryClient(), log: log.pluginSink)
        }
        var sessions: [BuildSession] = []
        for platform in platforms {
            var single = builder
            single.options.platform = platform
            single.options.platforms = []
            if platforms.count > 1 { single.log.platform = platform.description }
            let directory = platforms.count > 1 ? workDirectory + "/" + Self.slug(platform) : workDirectory
            if platforms.count > 1 {
                do { try BuildRoot.makePrivateDirectory(directory + "/roots") } catch {
                    throw KilnError.wrapping(error, "cannot create the working directory \(directory)")
                }
            }
            sessions.append(
                try single.prepare(
                    workDirectory: directory, overlays: overlays, cache: cache, compressed: compressed, uploads: uploads))
        }
        // The push permission check (a request or two per destination) runs beside the build:
        // a refusal still stops the build as soon as it is known, and a build that may push
        // does not wait for it.
        let permission = Task { [pusher] in try await pusher?.checkPermissions() }
        let pushOnly = options.outputs.pushes && options.outputs.ociLayoutPath == nil && options.outputs.tarPath == nil
        if let plan = sessions.first?.plan {
            let skipped = (0...plan.targetIndex).filter { !plan.stagesToBuild.contains($0) }
            if !skipped.isEmpty, let dockerfile = sessions.first?.dockerfile {
                let names = skipped.map { i in dockerfile.stages[i].name.map { "\(i) (\($0))" } ?? "\(i)" }
                log.info(
                    "skipping stages the target does not need: \(names.joined(separator: ", ")) (--skip-unused-stages=false builds them)")
            }
        }
        let cross = CrossBuildSessions(backend: components.crossBuild)
        let images: [Image]
        do {
            // Every platform's emulation is settled before the first pull.
            for session in sessions { try await cross.prepare(session, mode: options.execution.cross) }
            let building = Task { try await buildPlatforms(sessions) }
            let watch = Task {
                if case .failure = await permission.result { building.cancel() }
            }
            do {
                images = try await withTaskCancellationHandler {
                    try await building.value
                } onCancel: {
                    building.cancel()
                }
            } catch {
                // A refusal explains a cancelled build better than the cancellation.
                watch.cancel()
                try await permission.value
                throw error
            }
            // A push alone waits for the permission check only before its manifests (the check's
            // requests overlap the push's blobs); local outputs are written only once it passed.
            if !pushOnly { try await permission.value }
            // The hits' layers local outputs read are in the store before they read them; a push
            // alone fetches only those no early upload put in every destination (`prepareBlob`).
            if let cache, !cache.lazyFetches {
                try await cache.awaitAllFetches()
            } else if let cache, !pushOnly {
                try await cache.awaitFetches(images.map { ($0.store, $0.manifest.layers.map(\.digest)) })
            }
            await cross.release(log: log)
        } catch {
            await cross.release(log: log)
            await uploads?.cancel()
            await cache?.finish(log: log)
            throw error
        }
        let bases = sessions.flatMap { $0.progress.pulledImages }
        let lazy: StepCache? = pushOnly && cache?.lazyFetches == true ? cache : nil
        var hooks = PushHooks()
        if let lazy {
            let layers = images.map { ($0.store, $0.manifest.layers.map(\.digest)) }
            hooks.prepareBlob = { @Sendable digest, store in
                do { try await lazy.awaitFetches([digest], in: store) } catch {
                    // Every hit layer that cannot be downloaded goes into one more run, not one
                    // run each: try them all (this throws for all of them).
                    try await lazy.awaitFetches(layers)
                    throw error
                }
            }
        }
        if pushOnly { hooks.beforeManifest = { @Sendable in try await permission.value } }
        let digest: Digest
        do {
            digest = try await BuildTimings.measure(.output) {
                platforms.count > 1
                    ? try await outputs.deliver(
                        index: images, registry: { try components.registryClient() }, mountingFrom: bases, early: uploads, hooks: hooks)
                    : try await outputs.deliver(
                        images[0], registry: { try components.registryClient() }, mountingFrom: bases, early: uploads, hooks: hooks)
            }
        } catch {
            await uploads?.cancel()
            await cache?.finish(log: log)
            // A refusal explains a failed push better than the failure.
            if pushOnly, case .failure(let refusal) = await permission.result { throw refusal }
            throw error
        }
        if let lazy {
            let skipped = images.reduce(0) { $0 + lazy.notFetched(in: $1.store) }
            if skipped > 0 { log.debug("\(skipped) cached layer(s) not downloaded: every destination had them") }
        }
        // Nothing may still read a blob when the working directory goes.
        await uploads?.cancel()
        // Entries still uploading were overlapping the outputs; the working directory (their
        // blobs) goes only after them.
        await cache?.finish(log: log)
        if let chunks = sessions.first?.deflateCache { DeflateChunkCache(directory: chunks).prune() }
        if platforms.count > 1 { log.info("image index \(digest) (\(platforms.map(\.description).joined(separator: ", ")))") }
        let summary = BuildSummary(digest: digest, images: images, outputs: options.outputs, timings: timings)
        log(.info, summary.message, fields: summary.fields)
        return BuildResult(digest: digest, image: images[0], images: images)
    }

    /// `linux/arm/v7` → `linux-arm-v7`: a platform's working directory.
    static func slug(_ platform: Platform) -> String { platform.description.replacing("/", with: "-") }

    /// One image per session. With several platforms, the stages that do not depend on the
    /// target platform are built first, once, in the first session; then the platforms build the
    /// rest, `--jobs` at a time (one per core by default), each reusing those shared stages.
    private func buildPlatforms(_ sessions: [BuildSession]) async throws -> [Image] {
        guard let first = sessions.first else { throw KilnError(.internal, "no platform to build") }
        guard sessions.count > 1 else { return [try await build(first)] }
        let others = sessions.dropFirst().filter { $0.options.platform != first.options.platform }
        let shared = others.reduce(into: Set<Int>()) { $0.formUnion($1.platformIndependentStages(comparedWith: first)) }
        if !shared.isEmpty { _ = try await buildStages(first, only: shared) }
        let jobs = max(1, min(sessions.count, options.execution.jobs ?? ProcessInfo.processInfo.activeProcessorCount))
        log.info("building \(sessions.count) platforms, \(jobs) at a time (--jobs)")
        return try await withThrowingTaskGroup(of: (Int, Image).self) { group in
            var images = [Image?](repeating: nil, count: sessions.count)
            var started = 0
            func startNext() {
                let i = started
                started += 1
                let session = sessions[i]
                let reusing = session.options.platform == first.options.platform ? nil : first
                group.addTask {
                    session.log.info("building for \(session.options.platform)")
                    do { return (i, try await build(session, reusing: reusing)) } catch let error as CancellationError {
                        throw error
                    } catch {
                        throw KilnError.wrapping(error, "building for \(session.options.platform)")
                    }
                }
            }
            while started < jobs { startNext() }
            while let (i, image) = try await group.next() {
                images[i] = image
                if started < sessions.count { startNext() }
            }
            return images.compactMap { $0 }
        }
    }

    /// The stages in order, then the image (in the session's blob store).
    private func build(_ session: BuildSession, reusing first: BuildSession? = nil) async throws -> Image {
        let final = try await buildStages(session, reusing: first)
        return try assemble(session, final)
    }

    /// The image of the session's target stage, in its blob store.
    private func assemble(_ session: BuildSession, _ final: StageResult?) throws -> Image {
        let plan = session.plan
        let log = session.log
        let unused = session.dockerfile.unconsumedBuildArguments(plan.buildArgs)
        if !unused.isEmpty { log.warning("build args not consumed by any ARG: \(unused.joined(separator: ", "))") }

        guard var state = final?.state else { throw KilnError(.internal, "nothing to build") }
        state.config.platform = session.platform(ofStage: plan.targetIndex)
        state.config.created = session.timestamp
        let image: Image
        do {
            image = try Image.build(config: state.config, layers: state.layers, format: state.format, in: session.store)
        } catch {
            throw KilnError.wrapping(error, "assembling the image")
        }
        return image
    }

    /// BuildKit's build checks over the Dockerfile (its `# check=` directive, or the
    /// `BUILDKIT_DOCKERFILE_CHECK` build arg): warnings located at `Dockerfile:LINE`.
    /// - Throws: `KilnError` when the Dockerfile cannot be read or parsed, or the policy is invalid.
    public func check() throws -> CheckReport {
        let (text, _) = try readDockerfile()
        let fileName = BuildRoot.lastComponent(of: options.source.dockerfile)
        var buildArgs: [String: String] = [:]
        for (k, v) in options.source.buildArgs { if let v { buildArgs[k] = v } }
        do {
            let dockerfile = try Dockerfile.parse(text, fileName: fileName)
            return try dockerfile.check(buildArgs: buildArgs, source: text)
        } catch let error as DockerfileError {
            throw KilnError.dockerfile(error)
        }
    }

    /// Reads and parses the Dockerfile, opens the context, plans the stages.
    func prepare(
        workDirectory: String, overlays: OverlayRoots, cache: StepCache? = nil, compressed: CompressedLayers = CompressedLayers(),
        uploads: EarlyUploads? = nil
    ) throws -> BuildSession {
        let (text, dockerfilePath) = try readDockerfile()
        let dockerfile: Dockerfile
        do {
            dockerfile = try Dockerfile.parse(text, fileName: BuildRoot.lastComponent(of: options.source.dockerfile))
        } catch let error as DockerfileError {
            throw KilnError.dockerfile(error)
        }
        let context: BuildContext
        do {
            context = try BuildContext.open(options.source, workDirectory: workDirectory, dockerfilePath: dockerfilePath)
        } catch {
            throw KilnError.wrapping(error, fallback: .invalidInput)
        }
        let (plan, bases) = try Self.plan(dockerfile, source: options.source, platform: options.platform)
        let store: BlobStore
        do {
            store = try BlobStore(root: workDirectory + "/store")
            try FileManager.default.createDirectory(atPath: workDirectory + "/layers", withIntermediateDirectories: true)
        } catch {
            throw KilnError.wrapping(error, "preparing the working directory \(workDirectory)")
        }
        return BuildSession(
            options: options, components: components, log: log, workDirectory: workDirectory, store: store,
            context: context, dockerfile: dockerfile, plan: plan, bases: bases, overlays: overlays, cache: cache,
            compressedLayers: compressed, uploads: uploads)
    }

    /// The pure planner's plan, with base image names parsed as references.
    /// - Throws: `KilnError` `.usage` when `--target`/`--custom-platform` do not fit the
    ///   Dockerfile, `.invalidInput` when the Dockerfile itself is wrong.
    static func plan(_ dockerfile: Dockerfile, source: SourceOptions, platform: Platform, allStages: Bool = false) throws -> (
        BuildPlan, [Int: StageBase]
    ) {
        let input = BuildPlan.Input(
            buildArgs: source.buildArgs, target: allStages ? nil : source.target,
            skipUnusedStages: allStages ? false : source.skipUnusedStages,
            targetPlatform: platform.description, buildPlatform: Platform.host.description, environment: source.environment)
        var plan: BuildPlan
        do { plan = try BuildPlan(dockerfile: dockerfile, input: input) } catch let failure as BuildPlan.Failure {
            throw KilnError(failure.origin == .commandLine ? .usage : .invalidInput, "", cause: failure.error)
        }
        try skipOverriddenStages(&plan, dockerfile, source)
        var bases: [Int: StageBase] = [:]
        for (index, base) in plan.bases where plan.stagesToBuild.contains(index) {
            if let (name, named) = Self.namedContext(for: base, dockerfile, source) {
                if case .image(let ref) = named {
                    do { bases[index] = .image(try ImageReference(parsing: ref)) } catch {
                        throw KilnError(.usage, "--build-context \(name)=docker-image://\(ref)", cause: error)
                    }
                } else {
                    bases[index] = .context(name, named)
                }
                continue
            }
            switch base {
            case .scratch: bases[index] = .scratch
            case .stage(let i): bases[index] = .stage(i)
            case .image(let name):
                do { bases[index] = .image(try ImageReference(parsing: name)) } catch {
                    throw KilnError.at(dockerfile.stages[index].from.location, "FROM \(name)", cause: error, fallback: .invalidInput)
                }
            }
        }
        return (plan, bases)
    }

    func stageLabel(_ index: Int, _ plan: BuildPlan) -> String {
        "[\((plan.stagesToBuild.firstIndex(of: index) ?? index) + 1)/\(plan.stagesToBuild.count)]"
    }

    /// `--kaniko-dir`/`--work-dir`, or a fresh directory under the temporary directory (removed
    /// afterwards). Either way it is 0700, as is the directory holding the build roots.
    func makeWorkDirectory() throws -> (String, Bool) {
        if let dir = options.execution.workDirectory {
            let build = dir + "/build-\(getpid())"
            do {
                try BuildRoot.makePrivateDirectory(dir)
                try? removeTree(build)
                try BuildRoot.makePrivateDirectory(build, exclusive: true)
                try BuildRoot.makePrivateDirectory(build + "/roots")
            } catch {
                throw KilnError.wrapping(error, "cannot create the working directory \(build)")
            }
            // A directory the user named is kept (kaniko's default) unless --cleanup.
            return (build, false)
        }
        // /var/tmp rather than /tmp: build roots can be large and /tmp is often a small tmpfs.
        let base =
            options.execution.temporaryDirectory ?? (FileManager.default.fileExists(atPath: "/var/tmp") ? "/var/tmp" : "/tmp")
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        var template = Array((base + "/kiln-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            let code = errno
            throw KilnError(
                KilnError.code(errno: code), "cannot create a working directory under \(base)",
                cause: SystemCallError(call: "mkdtemp", subject: base, code: code))
        }
        let work = String(cString: made)
        try BuildRoot.makePrivateDirectory(work + "/roots")
        return (work, true)
    }

    /// The Dockerfile's text and path: as given if it exists, else relative to the context.
    func readDockerfile() throws -> (String, String) {
        let name = options.source.dockerfile
        var candidates = [name]
        if !name.hasPrefix("/") {
            var ctx = options.source.context
            if ctx.hasPrefix("dir://") { ctx.removeFirst(6) }
            candidates.append(ctx + "/" + name)
        }
        for path in candidates {
            var isDir = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir {
                let bytes: [UInt8]
                do { bytes = try readFile(path) } catch {
                    throw KilnError.wrapping(error, "cannot read the Dockerfile")
                }
                do {
                    return (try Dockerfile.decode(bytes, fileName: BuildRoot.lastComponent(of: options.source.dockerfile)), path)
                } catch let error as DockerfileError {
                    throw KilnError.dockerfile(error)
                }
            }
        }
        throw KilnError.usage("Dockerfile not found: looked for \(candidates.joined(separator: " and "))")
    }
}
