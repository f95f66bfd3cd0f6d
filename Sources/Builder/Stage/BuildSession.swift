import Dockerfile
import FoundationEssentials
import ImageModel
import ImageStore
import LayerCache
import Outputs
import PluginAPI
import Synchronization

/// What every stage of one build shares and nothing changes once the build starts: options,
/// components, the blob store, the working directory, the context, the Dockerfile and its plan.
/// What does change as stages finish lives in `progress`, owned by this session alone.
struct BuildSession: Sendable {
    let options: BuildOptions
    let components: BuildComponents
    let log: BuildLog
    let workDirectory: String
    let store: BlobStore
    let context: BuildContext
    let dockerfile: Dockerfile
    let plan: BuildPlan
    /// Each planned stage's base, with image names parsed.
    let bases: [Int: StageBase]
    /// Paths never extracted, snapshotted or wiped (see `makeIgnoreList`).
    let ignoreList: IgnoreList
    /// The build's mutable record.
    let progress: BuildProgress
    /// Stage roots mounted as overlays over base files extracted once (unmounted at the end).
    let overlays: OverlayRoots
    /// The layer cache, when `--cache` is on.
    let cache: StepCache?
    /// The blobs compressed so far in this build (shared by every platform's session).
    let compressedLayers: CompressedLayers
    /// Uploads to the destinations started while the build runs, when it pushes.
    let uploads: EarlyUploads?
    /// The target stage and the stages it is based on through `FROM`: their new layers are
    /// the image's, and go to `uploads` as soon as they are stored.
    let imageStages: Set<Int>

    init(
        options: BuildOptions, components: BuildComponents, log: BuildLog, workDirectory: String, store: BlobStore,
        context: BuildContext, dockerfile: Dockerfile, plan: BuildPlan, bases: [Int: StageBase], overlays: OverlayRoots,
        cache: StepCache? = nil, compressedLayers: CompressedLayers = CompressedLayers(), uploads: EarlyUploads? = nil
    ) {
        self.overlays = overlays
        self.options = options
        self.components = components
        self.log = log
        self.workDirectory = workDirectory
        self.store = store
        self.context = context
        self.dockerfile = dockerfile
        self.plan = plan
        self.bases = bases
        self.ignoreList = Self.makeIgnoreList(options.execution, workDirectory: workDirectory)
        self.progress = BuildProgress(layerDirectory: workDirectory + "/layers")
        self.cache = cache
        self.compressedLayers = compressedLayers
        self.uploads = uploads
        var chain: Set<Int> = []
        var index: Int? = plan.targetIndex
        while let i = index, chain.insert(i).inserted {
            if case .stage(let base) = bases[i] { index = base } else { index = nil }
        }
        self.imageStages = chain
    }

    /// The platform a stage builds for: its `FROM --platform` (validated by the planner), else
    /// the target platform.
    func platform(ofStage index: Int) -> Platform {
        plan.platforms[index].flatMap { try? Platform(parsing: $0) } ?? options.platform
    }

    /// Stages whose result is the same whichever platform the build targets, so a build for
    /// several platforms makes them once: a fixed `FROM --platform` (the same here as in `other`,
    /// e.g. `$BUILDPLATFORM`), no `TARGET*` ARG declared, and a base and dependencies that are
    /// such stages themselves. The target stage never is (its image is per platform).
    func platformIndependentStages(comparedWith other: BuildSession) -> Set<Int> {
        var shared: Set<Int> = []
        for index in plan.stagesToBuild where index != plan.targetIndex {
            guard let platform = plan.platforms[index], platform == other.plan.platforms[index] else { continue }
            let stage = dockerfile.stages[index]
            let declaresTarget = stage.instructions.contains { instruction in
                guard case .arg(let arg) = instruction else { return false }
                return arg.arguments.contains { $0.name.hasPrefix("TARGET") }
            }
            guard !declaresTarget else { continue }
            if case .stage(let base) = plan.bases[index], !shared.contains(base) { continue }
            guard let uses = try? dockerfile.dependencies(ofStage: index, globalEnvironment: plan.global.environment),
                uses.allSatisfy(shared.contains)
            else { continue }
            shared.insert(index)
        }
        return shared
    }

    /// `--isolation none` (kaniko's model): every stage's root is `/` itself.
    var inPlace: Bool { options.execution.isolation == .none }

    /// `--ignore-path`s; in place also the kernel file systems, the files the runner mounts,
    /// /var/run, kiln's working directory, its own files and every mount point.
    static func makeIgnoreList(_ execution: ExecutionOptions, workDirectory: String) -> IgnoreList {
        // An isolated step's kernel file systems and generated files are mounted inside its own
        // mount namespace, and mount points kiln had to create are removed after it: what
        // layers, COPY and ADD put under /proc, /sys, /dev or /run is image content (BuildKit).
        guard execution.isolation == .none else { return IgnoreList(execution.ignorePaths) }
        var list = IgnoreList(["/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"])
        for p in execution.ignorePaths { list.add(p) }
        if execution.ignoreVarRun { list.add("/var/run") }
        list.add(workDirectory)
        // RUN --mount=type=cache directories are never layer content.
        list.add(execution.runMounts.cacheRoot(workDirectory: execution.workDirectory))
        for p in execution.protectedPaths { list.add(p) }
        for mount in MountTable.mountPoints() where mount != "/" { list.add(mount) }
        return list
    }

    /// A new stage's (empty) ARG scope.
    func stageArguments() -> StageArguments {
        StageArguments(global: plan.global, buildArgs: plan.buildArgs)
    }

    /// The timestamp written into history and config: SOURCE_DATE_EPOCH / --reproducible, or now.
    var timestamp: String {
        options.layers.fixedTimestamp.map { Timestamp.rfc3339(seconds: $0) } ?? Timestamp.now()
    }

    var snapshotStrategy: any SnapshotStrategy { components.snapshot }

    /// Compressed gzip chunks kept in `--cache-dir` between builds (`DeflateChunkCache`).
    var deflateCache: String? {
        options.baseImages.cacheDirectory.flatMap { $0.isEmpty ? nil : $0 + "/deflate" }
    }
}

/// A planned stage's base with the image name parsed.
enum StageBase: Equatable {
    case scratch
    case stage(Int)
    case image(ImageReference)
    /// `--build-context NAME=…` standing in for a stage or image of that name.
    case context(String, NamedContext)
}

/// What changes while a build runs: the stages finished so far, the images pulled, the layer
/// counter. Owned by one `BuildSession`, whose stages run one after another on one task; the
/// lock is for the other platforms of a multi-platform build, which read the stages they share
/// with the first platform while it goes on.
final class BuildProgress: Sendable {
    private struct State {
        var finished: [Int: StageResult] = [:]
        var pulledImages: [MountSource] = []
        var runnablePlatforms: [Platform] = []
        var layerCounter = 0
    }

    private let state = Mutex(State())
    private let layerDirectory: String

    init(layerDirectory: String) {
        self.layerDirectory = layerDirectory
    }

    /// Finished stages by index.
    var finished: [Int: StageResult] { state.withLock { $0.finished } }

    /// Base images pulled for this build: pushes mount their layers from their repositories.
    var pulledImages: [MountSource] { state.withLock { $0.pulledImages } }

    /// Foreign platforms whose binaries run here (natively or emulated), as set up before the build.
    var runnablePlatforms: [Platform] { state.withLock { $0.runnablePlatforms } }

    func finish(stage index: Int, _ result: StageResult) { state.withLock { $0.finished[index] = result } }

    func recordPull(_ reference: ImageReference, layers: [Layer]) {
        let base = MountSource(reference: reference, blobs: Set(layers.map(\.descriptor.digest)))
        state.withLock { $0.pulledImages.append(base) }
    }

    func recordRunnable(_ platform: Platform) { state.withLock { $0.runnablePlatforms.append(platform) } }

    /// A fresh path for a layer being written.
    func newLayerPath() -> String {
        let n = state.withLock { s in
            s.layerCounter += 1
            return s.layerCounter
        }
        return layerDirectory + "/layer-\(n).tar"
    }
}

/// A finished stage: its image and its root on disk (for `COPY --from` and `FROM <stage>`).
struct StageResult: Sendable {
    var state: StageState
    var root: BuildRoot

    /// Keeps no snapshot: a stage built on this one records its root afresh (`BaseImages`), and
    /// the records of a large root (a record per file) are most of a finished stage's memory.
    init(state: StageState, root: BuildRoot) {
        var kept = state
        kept.snapshot = nil
        kept.snapshotStale = false
        self.state = kept
        self.root = root
    }
}
