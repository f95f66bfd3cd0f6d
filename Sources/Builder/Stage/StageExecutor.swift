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

/// Executes one stage's instructions against its root and image state.
final class StageExecutor {
    let session: BuildSession
    let stage: Stage
    let root: BuildRoot
    var state: StageState
    /// Position of the step being executed, for log lines (`[2/3] STEP 4/9`).
    var stepNumber = 0
    var stepCount = 0
    /// True while executing a step after which no instruction of this stage (and no later
    /// stage) reads this root: COPY may then write its layer from the sources directly.
    var nothingReadsRootAfterCurrentStep = false
    /// The layer cache's key for the COPY being executed, when `copyThroughCache` made it.
    var precomputedCopyKey: CacheKey?
    /// `--single-snapshot`: the layer is taken once, after the last instruction.
    var singleSnapshot: Bool { session.options.layers.singleSnapshot }

    init(session: BuildSession, stage: Stage, root: BuildRoot, state: StageState) {
        self.session = session
        self.stage = stage
        self.root = root
        self.state = state
    }

    var log: BuildLog { session.log }

    var stageLabel: String {
        let n = session.plan.stagesToBuild.firstIndex(of: stage.index).map { $0 + 1 } ?? stage.index + 1
        return "[\(n)/\(session.plan.stagesToBuild.count)]"
    }

    /// Runs the ONBUILD triggers of the base image, then the stage's instructions.
    func run(triggers: [Instruction]) async throws {
        let all = triggers + stage.instructions
        stepCount = all.count
        if singleSnapshot && all.contains(where: Self.changesFiles) {
            state.snapshot = try await snapshotting {
                try await session.snapshotStrategy.capture(root: root.path, ignoring: snapshotIgnoreList)
            }
        }
        // Scanning the rest of the stage at every step was quadratic in its length.
        let lastFileChange = all.lastIndex(where: Self.changesFiles) ?? -1
        for (index, instruction) in all.enumerated() {
            nothingReadsRootAfterCurrentStep =
                !singleSnapshot && !session.inPlace && !session.plan.stagesUsedLater.contains(stage.index)
                && lastFileChange <= index
            stepNumber += 1
            log.info("\(stageLabel) STEP \(stepNumber)/\(stepCount): \(redactingURLCredentials(instruction.original))")
            let started = ProcessInfo.processInfo.systemUptime
            do { try await apply(instruction) } catch let error as KilnError where !Self.isLocated(error) {
                // Every failure of a step names the Dockerfile line that caused it.
                throw KilnError(error.code, instruction.original, at: instruction.location.diagnostic, cause: error)
            }
            logDuration(since: started)
        }
        if singleSnapshot, let previous = state.snapshot, all.contains(where: Self.changesFiles) {
            try await snapshotLayer(since: previous, createdBy: all.last?.original ?? "")
        }
        // A later stage that builds on or copies from this root completes it first
        // (`BaseImages.completeRoot`): with every step a cache hit, it may never need to.
    }

    /// `[1/2] STEP 3/5 done in 1.24 s` (JSON: `duration` in seconds), counted in the build's steps.
    private func logDuration(since started: Double) {
        let seconds = ProcessInfo.processInfo.systemUptime - started
        BuildTimings.current?.add(.steps, seconds)
        log(
            .info, "\(stageLabel) STEP \(stepNumber)/\(stepCount) done in \(String(cFormat: "%.2f", seconds)) s",
            fields: ["duration": .double((seconds * 1000).rounded() / 1000)])
    }

    /// True when some error in the chain already names a Dockerfile line.
    static func isLocated(_ error: KilnError) -> Bool {
        error.chain.contains { link in
            if let kiln = link as? KilnError { return kiln.location != nil }
            if let context = link as? BuildContext.Error { return context.isLocated }
            return (link as? DockerfileError)?.location != nil
        }
    }

    static func changesFiles(_ i: Instruction) -> Bool {
        switch i {
        case .run, .copy, .add, .workdir: return true
        default: return false
        }
    }

    func apply(_ instruction: Instruction) async throws {
        if case .arg(let arg) = instruction {
            try declare(arg)
            return recordInCacheChain(instruction)
        }
        let expanded: Instruction
        do {
            expanded = try session.dockerfile.expand(instruction, environment: state.expansionEnvironment)
        } catch let error as DockerfileError {
            throw KilnError.dockerfile(error)
        } catch {
            throw KilnError.at(instruction.location, instruction.keyword, cause: error, fallback: .invalidInput)
        }
        switch expanded {
        case .run(let run): try await executeCaching(run)
        case .copy(let copy):
            if try await copyThroughCache(copy) { break }
            try await materializeRoot()
            try await execute(copy)
        case .add(let add):
            try await materializeRoot()
            try await execute(add)
        case .workdir(let w):
            try await materializeRoot()
            try await execute(w)
            recordInCacheChain(expanded)
        case .from: throw KilnError.at(instruction.location, .internal, "FROM inside a stage")
        default:
            try applyMetadata(expanded)
            recordInCacheChain(expanded)
        }
    }

    // MARK: History and layers

    /// Records a history entry for an instruction that made no layer.
    func addHistory(_ createdBy: String, emptyLayer: Bool = true) {
        // Appended in place: a copy per entry made long Dockerfiles quadratic.
        if state.config.history == nil { state.config.history = [] }
        state.config.history?.append(
            History(created: session.timestamp, createdBy: createdBy, comment: "kiln", emptyLayer: emptyLayer ? true : nil))
    }

    var layerOptions: LayerWriter.Options {
        LayerWriter.Options(
            compression: session.options.layers.compression,
            level: session.options.layers.compressionLevel,
            dockerMediaTypes: state.format == .docker,
            timestampOverride: session.options.layers.fixedTimestamp,
            deflateCache: session.deflateCache)
    }

    /// Writes a layer with `body`, adds it to the stage with a history entry; an empty layer
    /// (nothing written) adds only an empty history entry. With `shape` (a COPY layer) the
    /// tar is written uncompressed first when an earlier layer had that shape, and compressed
    /// only if no blob of this build has its diff ID (`CompressedLayers`).
    func commitLayer(createdBy: String, shape: LayerShape? = nil, _ body: @escaping @Sendable (LayerWriter) throws -> Void)
        async throws
    {
        let path = session.progress.newLayerPath()
        let options = layerOptions
        let records = session.compressedLayers
        if options.compression != .none, let shape, records.mayRepeat(shape) {
            return try await commitSpooled(createdBy: createdBy, path: path, options: options, body)
        }
        let blob: LayerBlob? = try await writingLayer {
            let writer = try LayerWriter(path: path, options: options)
            try body(writer)
            let blob = try writer.finish()
            if blob.entryCount == 0 {
                unlink(path)
                return nil
            }
            return blob
        }
        try await add(blob, createdBy: createdBy)
    }

    /// `commitLayer` in two passes: the tar, then the blob unless this build has one for it.
    private func commitSpooled(
        createdBy: String, path: String, options: LayerWriter.Options, _ body: @escaping @Sendable (LayerWriter) throws -> Void
    ) async throws {
        let spool = path + ".uncompressed"
        defer { unlink(spool) }
        let tar: LayerBlob? = try await writingLayer {
            let writer = try LayerWriter(path: spool, options: LayerWriter.spoolOptions(for: options))
            try body(writer)
            let tar = try writer.finish()
            return tar.entryCount == 0 ? nil : tar
        }
        guard let tar else { return addHistory(createdBy) }
        let encoding = CompressedLayers.Encoding(options)
        if let known = session.compressedLayers.blob(for: tar.diffID, encoding) {
            do { try await session.store.put(known.digest, from: known.store) } catch {
                throw KilnError.wrapping(error, "storing the layer of \(createdBy)")
            }
            log.debug("layer \(tar.diffID) already compressed in this build: blob \(known.digest) reused")
            let mediaType = options.compression.layerMediaType(docker: options.dockerMediaTypes)
            let layer = Layer(descriptor: Descriptor(mediaType: mediaType, digest: known.digest, size: known.size), diffID: tar.diffID)
            return await append(layer, entries: tar.entryCount, createdBy: createdBy)
        }
        let blob = try await writingLayer { try LayerWriter.compress(tar, to: path, options: options) }
        try await add(blob, createdBy: createdBy)
    }

    /// Stores a written layer blob and adds it to the stage (see `append`).
    func add(_ blob: LayerBlob?, createdBy: String) async throws {
        guard let blob else {
            addHistory(createdBy)
            return
        }
        do { try await session.store.put(fileAt: blob.path, digest: blob.descriptor.digest, mode: .move) } catch {
            throw KilnError.wrapping(error, "storing the layer of \(createdBy)")
        }
        session.compressedLayers.record(
            blob.diffID, CompressedLayers.Encoding(layerOptions),
            CompressedLayers.Blob(digest: blob.descriptor.digest, size: blob.descriptor.size, store: session.store))
        if blob.reusedChunks > 0 {
            log.debug("layer \(blob.descriptor.digest): \(blob.reusedChunks) of \(blob.chunks) gzip chunks compressed before")
        }
        await append(Layer(descriptor: blob.descriptor, diffID: blob.diffID), entries: blob.entryCount, createdBy: createdBy)
    }

    /// Adds a layer already in the store to the stage with a history entry; a layer of the
    /// image's stages starts uploading to the destinations.
    func append(_ layer: Layer, entries: Int, createdBy: String) async {
        state.layers.append(layer)
        addHistory(createdBy, emptyLayer: false)
        log.debug("layer \(layer.descriptor.digest) (\(layer.descriptor.size) bytes, \(entries) entries)")
        await startUpload(layer.descriptor)
    }

    /// Starts uploading a new blob of this stage to the destinations when the stage is one of
    /// the image's (`BuildSession.imageStages`); `mountFrom` may hold it on the same registry.
    func startUpload(_ descriptor: Descriptor, mountFrom: [ImageReference] = []) async {
        guard let uploads = session.uploads, session.imageStages.contains(stage.index) else { return }
        await uploads.start(descriptor, path: session.store.path(for: descriptor.digest), mountFrom: mountFrom)
    }

    /// Paths a RUN snapshot never records: kernel file systems, the files the runner mounts,
    /// and in place also every mount point and kiln's own files.
    var snapshotIgnoreList: IgnoreList { session.ignoreList }

    /// A new link to an existing file (`ln /a /b`) changes only the link count of `/a`; to keep
    /// the two names one inode in the image, every other name of a changed multiply-linked file
    /// goes into the layer too (as overlay-based builders do by copying the file up).
    static func withHardlinkSiblings(_ changes: ChangeSet, in state: SnapshotState) -> ChangeSet {
        let linked = changes.upserted.filter { $0.type == .regular && $0.linkCount > 1 }
        guard !linked.isEmpty else { return changes }
        struct Key: Hashable {
            var device: UInt64
            var inode: UInt64
        }
        let wanted = Set(linked.map { Key(device: $0.device, inode: $0.inode) })
        let present = Set(changes.upserted.map(\.path))
        var out = changes
        for record in state.records.values where record.type == .regular && record.linkCount > 1 {
            if wanted.contains(Key(device: record.device, inode: record.inode)) && !present.contains(record.path) {
                out.modified.append(record)
            }
        }
        return out
    }

    /// Takes a snapshot against `previous` and commits its changes as a layer.
    func snapshotLayer(since previous: SnapshotState, createdBy: String) async throws {
        let strategy = session.snapshotStrategy
        let ignore = snapshotIgnoreList
        let rootPath = root.path
        let (found, next) = try await snapshotting { try await strategy.changes(root: rootPath, since: previous, ignoring: ignore) }
        let changes = Self.withHardlinkSiblings(found, in: next)
        state.snapshot = next
        state.snapshotStale = false
        log.debug("snapshot: \(changes.added.count) added, \(changes.modified.count) modified, \(changes.deleted.count) deleted")
        let path = session.progress.newLayerPath()
        let options = layerOptions
        let blob = try await writingLayer {
            try LayerWriter.write(changes: changes, root: rootPath, previous: previous, to: path, options: options, ignoring: ignore)
        }
        try await add(blob, createdBy: createdBy)
    }

    /// Runs a snapshot strategy call; its failure becomes a `KilnError` naming the step.
    func snapshotting<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as KilnError { throw error } catch {
            throw KilnError.wrapping(error, "\(stageLabel) STEP \(stepNumber): taking a snapshot of \(root.path)")
        }
    }

    /// Writes a layer off the cooperative pool; a failure names the step.
    func writingLayer<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await runBlocking(body) } catch {
            throw KilnError.wrapping(error, "\(stageLabel) STEP \(stepNumber): writing a layer")
        }
    }
}
