import Archive
import Dockerfile
import Foundation
import ImageStore
import PluginAPI

/// Executes one stage's instructions against its root and image state.
final class StageExecutor {
    let session: BuildSession
    let stage: Stage
    let root: BuildRoot
    var state: StageState
    /// Position of the step being executed, for log lines (`[2/3] STEP 4/9`).
    var stepNumber = 0
    var stepCount = 0
    /// `--single-snapshot`: the layer is taken once, after the last instruction.
    var singleSnapshot: Bool { session.options.singleSnapshot }

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
            state.snapshot = try await session.snapshotStrategy().capture(root: root.path, ignoring: snapshotIgnoreList)
        }
        for instruction in all {
            stepNumber += 1
            log.info("\(stageLabel) STEP \(stepNumber)/\(stepCount): \(instruction.original)")
            try await apply(instruction)
        }
        if singleSnapshot, let previous = state.snapshot, all.contains(where: Self.changesFiles) {
            try await snapshotLayer(since: previous, createdBy: all.last?.original ?? "")
        }
    }

    static func changesFiles(_ i: Instruction) -> Bool {
        switch i {
        case .run, .copy, .add, .workdir: return true
        default: return false
        }
    }

    func apply(_ instruction: Instruction) async throws {
        if case .arg(let arg) = instruction { return try declare(arg) }
        let expanded: Instruction
        do {
            expanded = try session.dockerfile.expand(instruction, environment: state.expansionEnvironment)
        } catch let error as DockerfileError {
            throw BuildError.failed(error.description)
        } catch {
            throw BuildError.failed("\(instruction.location): \(error)")
        }
        switch expanded {
        case .run(let run): try await execute(run)
        case .copy(let copy): try await execute(copy)
        case .add(let add): try await execute(add)
        case .workdir(let w): try await execute(w)
        case .from: throw BuildError.failed("\(instruction.location): FROM inside a stage")
        default: try applyMetadata(expanded)
        }
    }

    // MARK: History and layers

    /// Records a history entry for an instruction that made no layer.
    func addHistory(_ createdBy: String, emptyLayer: Bool = true) {
        var history = state.config.history ?? []
        history.append(History(created: session.timestamp, createdBy: createdBy, comment: "kiln", emptyLayer: emptyLayer ? true : nil))
        state.config.history = history
    }

    var layerOptions: LayerWriter.Options {
        LayerWriter.Options(
            compression: session.options.compression,
            level: session.options.compressionLevel >= 0 ? session.options.compressionLevel : nil,
            dockerMediaTypes: state.format == .docker,
            timestampOverride: session.options.fixedTimestamp)
    }

    /// Writes a layer with `body`, adds it to the stage with a history entry; an empty layer
    /// (nothing written) adds only an empty history entry.
    func commitLayer(createdBy: String, _ body: @escaping @Sendable (LayerWriter) throws -> Void) async throws {
        let path = session.newLayerPath()
        let options = layerOptions
        let blob: LayerBlob? = try await runBlocking {
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

    func add(_ blob: LayerBlob?, createdBy: String) async throws {
        guard let blob else {
            addHistory(createdBy)
            return
        }
        try await session.store.put(fileAt: blob.path, digest: blob.descriptor.digest, mode: .move)
        state.layers.append(Layer(descriptor: blob.descriptor, diffID: blob.diffID))
        addHistory(createdBy, emptyLayer: false)
        log.debug("layer \(blob.descriptor.digest) (\(blob.descriptor.size) bytes, \(blob.entryCount) entries)")
    }

    /// Paths a RUN snapshot never records: kernel file systems, the files the runner mounts,
    /// and in place also every mount point and kiln's own files.
    var snapshotIgnoreList: IgnoreList { session.ignoreList }

    /// Takes a snapshot against `previous` and commits its changes as a layer.
    func snapshotLayer(since previous: SnapshotState, createdBy: String) async throws {
        let strategy = try session.snapshotStrategy()
        let ignore = snapshotIgnoreList
        let (changes, next) = try await strategy.changes(root: root.path, since: previous, ignoring: ignore)
        state.snapshot = next
        state.snapshotStale = false
        log.debug("snapshot: \(changes.added.count) added, \(changes.modified.count) modified, \(changes.deleted.count) deleted")
        let path = session.newLayerPath()
        let options = layerOptions
        let rootPath = root.path
        let blob = try await runBlocking {
            try LayerWriter.write(changes: changes, root: rootPath, previous: previous, to: path, options: options, ignoring: ignore)
        }
        try await add(blob, createdBy: createdBy)
    }
}
