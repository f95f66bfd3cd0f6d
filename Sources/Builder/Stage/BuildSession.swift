import Dockerfile
import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginHost

/// What every stage of one build shares: options, plugins, the blob store, the working
/// directory, the context, and the stages finished so far.
final class BuildSession {
    let options: BuildOptions
    let plugins: PluginSet
    let log: BuildLog
    let workDirectory: String
    let store: BlobStore
    let context: BuildContext
    let dockerfile: Dockerfile
    let plan: BuildPlan
    /// Images pulled for this build: pushes try cross-repository mounts from them first.
    var pulledReferences: [ImageReference] = []
    /// Finished stages by index.
    var finished: [Int: StageResult] = [:]
    private var layerCounter = 0

    init(
        options: BuildOptions, plugins: PluginSet, log: BuildLog, workDirectory: String, store: BlobStore,
        context: BuildContext, dockerfile: Dockerfile, plan: BuildPlan
    ) {
        self.options = options
        self.plugins = plugins
        self.log = log
        self.workDirectory = workDirectory
        self.store = store
        self.context = context
        self.dockerfile = dockerfile
        self.plan = plan
    }

    /// `--isolation none` (kaniko's model): every stage's root is `/` itself.
    var inPlace: Bool { options.isolation == "none" }

    /// Paths never extracted, snapshotted or wiped: kernel file systems, every mount point,
    /// kiln's working directory and its own files, `--ignore-path`s, and (in place) /var/run.
    lazy var ignoreList: IgnoreList = {
        var list = IgnoreList(["/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"])
        for p in options.ignorePaths { list.add(p) }
        guard inPlace else { return list }
        if options.ignoreVarRun { list.add("/var/run") }
        list.add(workDirectory)
        if let exe = StandardPluginDiscovery.executableDirectory() { list.add(exe) }
        for mount in MountTable.mountPoints() where mount != "/" { list.add(mount) }
        return list
    }()

    /// A new stage's (empty) ARG scope.
    func stageArguments() -> StageArguments {
        StageArguments(global: plan.global, buildArgs: plan.buildArgs)
    }

    /// A fresh path for a layer being written.
    func newLayerPath() -> String {
        layerCounter += 1
        return workDirectory + "/layers/layer-\(layerCounter).tar"
    }

    /// The timestamp written into history and config: SOURCE_DATE_EPOCH / --reproducible, or now.
    var timestamp: String {
        options.fixedTimestamp.map { Timestamp.rfc3339(seconds: $0) } ?? Timestamp.now()
    }

    func snapshotStrategy() throws -> any SnapshotStrategy {
        if let s = plugins.snapshotStrategy(named: options.snapshotMode) { return s }
        let found = plugins.plugins.map { "\($0.name) (\($0.path))" }.joined(separator: ", ")
        throw BuildError.failed(
            "no snapshot plugin provides mode '\(options.snapshotMode)'; plugins found: \(found.isEmpty ? "none" : found). "
                + "Put libKilnPluginSnapshotFull.so and libKilnPluginSnapshotTime.so next to kiln or pass --plugin-dir")
    }
}

/// A finished stage: its image and its root on disk (for `COPY --from` and `FROM <stage>`).
struct StageResult {
    var state: StageState
    var root: BuildRoot
}
