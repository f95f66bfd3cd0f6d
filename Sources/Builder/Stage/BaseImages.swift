import Archive
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import ImageModel
import ImageStore
import LayerCache
import PluginAPI
import PluginSupport

/// Where a stage starts: `scratch`, an earlier stage, or an image from a registry (pulled into
/// the blob store and extracted into the stage's root).
struct BaseImages {
    let session: BuildSession

    /// The stage's initial state, its (populated) root, and the base image's ONBUILD triggers.
    ///
    /// With `--isolation none` the root is `/` itself: a later stage first clears what the
    /// earlier one left (everything but the ignore list), then lays down its base, as kaniko does.
    func start(_ stage: Stage) async throws -> (StageState, BuildRoot, [Instruction]) {
        let root: BuildRoot
        if session.inPlace {
            root = BuildRoot(path: "/")
            if !session.progress.finished.isEmpty {
                session.log.info("clearing / for the next stage (in-place build)")
                do { try RootWipe.clear(root, keeping: session.ignoreList) } catch {
                    throw KilnError.at(stage.from.location, "clearing / for the next stage", cause: error)
                }
            }
        } else {
            root = BuildRoot(path: session.workDirectory + "/roots/stage-\(stage.index)")
            try? removeTree(root.path)
            do { try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true) } catch {
                throw KilnError.wrapping(error, "cannot create the build root \(root.path)")
            }
        }
        var state: StageState
        switch session.bases[stage.index] ?? .scratch {
        case .scratch:
            var config = ImageConfig(platform: session.platform(ofStage: stage.index))
            var c = ContainerConfig()
            c.env = ["PATH=\(Self.defaultPath)"]
            config.config = c
            var scratch = StageState(config: config, layers: [], format: .oci, arguments: session.stageArguments())
            scratch.cacheChain = .seed(base: "scratch", platform: session.platform(ofStage: stage.index))
            return (scratch, root, [])
        case .stage(let i):
            guard session.progress.finished[i] != nil else {
                throw KilnError.at(stage.from.location, .internal, "stage \(i) must be built before stage \(stage.index)")
            }
            let base = try await completeRoot(ofStage: i)
            if session.inPlace {
                try await extract(layers: base.state.layers, named: "stage \(i)", into: root)
            } else if overlaysAvailable,
                session.overlays.mount(lowers: session.overlays.freeze(base.root.path) ?? [base.root.path], at: root.path)
            {
                session.log.debug("stage \(stage.index)'s root: an overlay over stage \(i)'s files (no copy)")
            } else {
                let source = base.root.path
                do {
                    try await runBlocking { try FileCopier(root: root, owner: nil, chmod: nil).copyContents(ofDirectory: source, into: "") }
                } catch {
                    throw KilnError.at(stage.from.location, "copying stage \(i)'s files", cause: error)
                }
            }
            state = base.state
            state.arguments = session.stageArguments()
            state.snapshot = nil
            state.snapshotStale = false
        case .image(let reference):
            let pulled = try await ImagePuller(session: session).pull(
                reference, platform: session.platform(ofStage: stage.index), location: stage.from.location)
            session.progress.recordPull(pulled.reference, layers: pulled.layers)
            // With the layer cache, a stage whose steps all hit never needs its base's files.
            let deferred = session.cache != nil && !session.inPlace
            if !deferred { try await fill(root, base: pulled, then: [], named: "stage \(stage.index)") }
            var config = pulled.config
            var container = config.config ?? ContainerConfig()
            if !(container.env ?? []).contains(where: { $0.hasPrefix("PATH=") }) {
                container.env = (container.env ?? []) + ["PATH=\(Self.defaultPath)"]
            }
            config.config = container
            state = StageState(config: config, layers: pulled.layers, format: pulled.format, arguments: session.stageArguments())
            if let shell = container.shell, !shell.isEmpty { state.shell = shell }
            state.cacheChain = .seed(base: pulled.manifestDigest.description, platform: session.platform(ofStage: stage.index))
            if deferred {
                state.pendingBase = pulled
                state.pendingLayers = pulled.layers
            }
        case .context(let name, let context):
            state = try await start(from: context, name: name, stage: stage, root: root)
        }
        state.cmdFromBase = state.containerConfig.cmd != nil
        let triggers = try Self.triggers(of: &state, location: stage.from.location)
        return (state, root, triggers)
    }

    /// A finished stage with every layer in its root: with the layer cache, its base and cache
    /// hits are extracted only now, when a later stage first reads its files.
    /// Stages building at the same time that read the same stage complete it once.
    func completeRoot(ofStage index: Int) async throws -> StageResult {
        guard let result = session.progress.finished[index] else { throw KilnError(.internal, "stage \(index) was not built") }
        guard !result.state.pendingLayers.isEmpty else { return result }
        let images = self
        try await InFlightWork.shared.run("complete " + result.root.path) {
            guard var result = images.session.progress.finished[index], !result.state.pendingLayers.isEmpty else { return }
            try await images.fill(result.root, pending: &result.state, named: "stage \(index)")
            images.session.progress.finish(stage: index, result)
        }
        guard let completed = session.progress.finished[index] else { throw KilnError(.internal, "stage \(index) was not built") }
        return completed
    }

    /// A finished stage that later stages start `FROM`, made ready before any of them starts:
    /// complete, and (as an overlay root) frozen read-only. Freezing remounts the root, so it must
    /// not happen while a stage building at the same time copies from it.
    func settleAsBase(ofStage index: Int) async throws {
        guard !session.inPlace else { return }
        let result = try await completeRoot(ofStage: index)
        _ = session.overlays.freeze(result.root.path)
    }

    /// Extracts a stage's pending layers (its base and cache hits) into its root: the base as an
    /// overlay over its files extracted once per build where the kernel allows it.
    func fill(_ root: BuildRoot, pending state: inout StageState, named name: String) async throws {
        let base = state.pendingBase
        let later = base.map { Array(state.pendingLayers.dropFirst($0.layers.count)) } ?? state.pendingLayers
        state.pendingBase = nil
        state.pendingLayers = []
        if let base {
            try await fill(root, base: base, then: later, named: name)
        } else {
            try await extract(layers: later, named: "\(name)'s cached steps", into: root)
        }
    }

    /// Lays `base` down in an empty `root` (an overlay over its files extracted once, or an
    /// extraction), then extracts `later` layers over it.
    private func fill(_ root: BuildRoot, base pulled: PulledImage, then originalLater: [Layer], named name: String) async throws {
        var later = originalLater
        if overlaysAvailable {
            let files = try await extractedOnce(pulled)
            var lowers = [files.path]
            if let applied = try await persistentLayers(later, over: pulled, files: files, named: name) {
                lowers.insert(applied, at: 0)
                later = []
            }
            if session.overlays.mount(lowers: lowers, at: root.path) {
                session.log.info("\(name)'s root: an overlay over \(pulled.reference)'s files, extracted once per build")
            } else {
                later = originalLater
                session.log.debug("\(name)'s root: extracted (\(session.overlays.lastError ?? "no overlay"))")
                try await extract(pulled, into: root)
            }
        } else {
            try await extract(pulled, into: root)
        }
        if !later.isEmpty { try await extract(layers: later, named: "\(name)'s cached steps", into: root) }
    }

    /// An earlier stage's files for `COPY --from` when its root was `/` and has been cleared
    /// since: its layers extracted into a directory of their own (once).
    func exportedRoot(ofStage index: Int) async throws -> BuildRoot {
        guard let result = session.progress.finished[index] else { throw KilnError(.internal, "stage \(index) was not built") }
        let root = BuildRoot(path: session.workDirectory + "/roots/export-\(index)")
        if FileManager.default.fileExists(atPath: root.path + ".complete") { return root }
        try? removeTree(root.path)
        do { try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true) } catch {
            throw KilnError.wrapping(error, "cannot create \(root.path)")
        }
        try await extract(layers: result.state.layers, named: "stage \(index)", into: root, ignoring: IgnoreList())
        markComplete(root)
        return root
    }

    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Parses and removes the ONBUILD triggers a base image carries (Docker runs them first in
    /// the child stage and does not pass them on).
    static func triggers(of state: inout StageState, location: SourceLocation) throws -> [Instruction] {
        guard let onBuild = state.config.config?.onBuild, !onBuild.isEmpty else { return [] }
        state.config.config?.onBuild = nil
        var triggers: [Instruction] = []
        for expression in onBuild {
            do { triggers.append(try Instruction.parse(expression, fileName: "ONBUILD of the base image")) } catch {
                throw KilnError.at(
                    location, "the base image's ONBUILD trigger '\(expression)' does not parse", cause: error, fallback: .invalidInput)
            }
        }
        return triggers
    }

    /// Applies the image's layers to `root`, in order.
    func extract(_ image: PulledImage, into root: BuildRoot) async throws {
        try await extract(layers: image.layers, named: image.reference.description, into: root)
    }

    /// Applies layers from the blob store to `root`, in order, never writing ignored paths.
    func extract(layers: [Layer], named name: String, into root: BuildRoot, ignoring: IgnoreList? = nil) async throws {
        // Cache hits' layers may still be downloading.
        try await session.cache?.awaitFetches(layers.map(\.descriptor.digest), in: session.store)
        let paths = layers.map { session.store.path(for: $0.descriptor.digest) }
        let ignore = ignoring ?? (session.inPlace ? session.ignoreList : IgnoreList(session.options.execution.ignorePaths))
        var extractor = LayerExtractor(root: root.path, options: ExtractionOptions(ignoring: ignore))
        // Stages building at the same time extract at the same time: say for which.
        let target = BuildRoot.lastComponent(of: root.path)
        let forStage = target.hasPrefix("stage-") && !name.hasPrefix("stage") ? " for stage \(target.dropFirst(6))" : ""
        session.log.info("extracting \(paths.count) layer(s) of \(name)\(forStage)")
        var attempt = 0
        while true {
            do {
                for (i, path) in paths.enumerated() {
                    // The diff ID and declared compression are proven in the extraction pass.
                    let layer = layers[i]
                    let expected = LayerExpectation(diffID: layer.diffID, compression: layer.descriptor.mediaType.layerCompression)
                    let watch = session.log.progress?.track(
                        .extract, name: ProgressMeter.shortName(layer.descriptor.digest), total: layer.descriptor.size)
                    defer { watch?.ended() }
                    extractor.progress = nil
                    if let watch { extractor.progress = { watch.moved($0) } }
                    _ = try await BuildTimings.measure(.extract) {
                        try await extractor.apply(layer: path, name: "\(name) layer \(i + 1)", expecting: expected)
                    }
                }
                return
            } catch {
                // A hostile or corrupt layer fails the same way every time; retries are for
                // transient trouble (a full disk freed meanwhile, an NFS hiccup), from a clean root.
                let retries = session.options.baseImages.extractRetry
                guard attempt < retries else { throw KilnError.wrapping(error, "extracting \(name)", fallback: .invalidInput) }
                attempt += 1
                session.log.warning("extracting \(name) failed (\(error)); retry \(attempt) of \(retries)")
                try RootWipe.clear(root, keeping: ignore)
                try await Task.sleep(nanoseconds: UInt64(1 << min(attempt, 5)) * 500_000_000)
            }
        }
    }

    /// The root of an image named by `COPY --from=<image>`, pulled and extracted once per build.
    func rootForCopy(_ name: String, location: SourceLocation) async throws -> BuildRoot {
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch {
            throw KilnError.at(location, "COPY --from=\(name) names neither a stage nor an image", cause: error, fallback: .invalidInput)
        }
        let pulled = try await ImagePuller(session: session).pull(reference, platform: session.options.platform, location: location)
        return try await extractedOnce(pulled)
    }

    /// Overlay roots work here (not in place: `/` is the root there). Logged once when not.
    var overlaysAvailable: Bool {
        guard !session.inPlace else { return false }
        let known = session.overlays.unavailableReason != nil
        let available = session.overlays.available(under: session.workDirectory + "/roots")
        if !available, !known, let reason = session.overlays.unavailableReason {
            session.log.info("stage roots are extracted or copied for each stage (no overlayfs here: \(reason))")
        }
        return available
    }

    /// An image's files extracted into a directory of their own, once per build: the lower
    /// layer of overlay roots and the source of `COPY --from=<image>`.
    /// With `--cache-dir`, the files are kept there and shared by later builds (`persistentRoot`).
    func extractedOnce(_ pulled: PulledImage) async throws -> BuildRoot {
        if let kept = try await persistentRoot(pulled) { return kept }
        let root = BuildRoot(path: session.workDirectory + "/roots/image-\(pulled.manifestDigest.encoded)")
        if FileManager.default.fileExists(atPath: root.path + ".complete") { return root }
        // Two stages on the same image, building at the same time, extract it once.
        let images = self
        try await InFlightWork.shared.run(root.path) {
            if FileManager.default.fileExists(atPath: root.path + ".complete") { return }
            try? removeTree(root.path)
            do { try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true) } catch {
                throw KilnError.wrapping(error, "cannot create \(root.path)")
            }
            try await images.extract(pulled, into: root)
            markComplete(root)
        }
        return root
    }
}

/// Marks an extracted root as complete with an empty file beside it (plain open(2): Foundation's
/// `createFile` writes atomically through a `TemporaryDirectory.*` in /tmp it never removes).
func markComplete(_ root: BuildRoot) {
    let fd = open(root.path + ".complete", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd >= 0 { close(fd) }
}
