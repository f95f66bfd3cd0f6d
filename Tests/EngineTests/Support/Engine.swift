// Drives the engine in-process: a temporary tree holding the context, kiln's working directory
// and an in-process registry; the real snapshot plugins loaded from the build products; the
// result read back from the blob store (config, history, each layer's entries).
import Builder
import Foundation
import ImageModel
import ImageStore
import Outputs
import PluginAPI
import PluginHost
import TestSupport

/// One test's engine: call `build` as often as needed (each build replaces the previous one's
/// working directory).
struct Engine {
    let tree: TemporaryTree
    let registry: DirectoryRegistry

    init() throws {
        tree = try TemporaryTree(prefix: "kiln-engine")
        try tree.makeDirectory("context")
        registry = try DirectoryRegistry(root: tree.url("registry"))
    }

    func remove() { tree.remove() }

    var context: String { tree.url("context") }

    /// Writes a context file, creating its parent directories.
    @discardableResult
    func file(_ relative: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        let parent = (relative as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            try FileManager.default.createDirectory(atPath: context + "/" + parent, withIntermediateDirectories: true)
        }
        let path = try tree.write("context/" + relative, text, mode: mode)
        chmod(path, mode)  // the umask must not decide what COPY sees
        return path
    }

    /// The snapshot strategy of the in-tree plugin `SnapshotFull` or `SnapshotTime`, loaded as
    /// kiln loads it (dlopen of the library next to the test runner).
    static func snapshotStrategy(_ plugin: String = "SnapshotFull") throws -> any SnapshotStrategy {
        let loaded = try PluginLoader().load(path: BuildProducts.plugin(plugin))
        guard let strategy = loaded.components.compactMap({ $0 as? any SnapshotStrategy }).first else {
            throw DirectoryRegistry.Failure(message: "\(plugin) has no snapshot strategy", statusCode: nil)
        }
        return strategy
    }

    /// Options for building `Dockerfile` in the context, with the working directory kept.
    func options(_ configure: (inout BuildOptions) -> Void = { _ in }) -> BuildOptions {
        var options = BuildOptions(source: SourceOptions(dockerfile: context + "/Dockerfile", context: context))
        options.execution.workDirectory = tree.url("work")
        configure(&options)
        return options
    }

    /// Builds `dockerfile` (written to the context) and reads back what it made.
    func build(
        _ dockerfile: String, snapshot: String = "SnapshotFull", withRegistry: Bool = true,
        _ configure: (inout BuildOptions) -> Void = { _ in }
    ) async throws -> BuiltImage {
        try file("Dockerfile", dockerfile)
        let components = BuildComponents(snapshot: try Self.snapshotStrategy(snapshot), registry: withRegistry ? registry : nil)
        let result = try await ImageBuilder(options: options(configure), components: components, log: Self.log).run()
        return try BuiltImage(result)
    }

    /// Log lines go nowhere unless `KILN_TEST_ECHO_LOG` is set.
    static var log: BuildLog {
        let echo = ProcessInfo.processInfo.environment["KILN_TEST_ECHO_LOG"] != nil
        return BuildLog(level: echo ? .debug : .error, sink: { line in if echo { print(line) } })
    }

    /// The busybox base (Debian's busybox-static, made by umoci; see BaseImageFixture) in the
    /// in-process registry as `registry.test/busybox:latest`.
    func busybox() async throws -> String {
        let layout = try await BaseImageFixture.shared.layout(.busybox)
        let reference = "registry.test/busybox:latest"
        try await registry.importImage(layout: layout, tag: "latest", as: try ImageReference(parsing: reference))
        return reference
    }
}

/// A built image read back from the build's blob store.
struct BuiltImage {
    var result: BuildResult
    var layers: [LayerListing]

    init(_ result: BuildResult) throws {
        self.result = result
        layers = try result.image.layers.map { try LayerListing(reading: result.image.store.path(for: $0.descriptor.digest)) }
    }

    var config: ImageConfig { result.image.config }
    var container: ContainerConfig { config.config ?? ContainerConfig() }
    var history: [History] { config.history ?? [] }
    /// The last layer's entries (the one the final instruction made).
    var lastLayer: LayerListing { layers.last ?? LayerListing(entries: []) }
    /// The newest entry for `path` across the layers.
    func entry(_ path: String) -> LayerEntry? { layers.reversed().lazy.compactMap { $0[path] }.first }
}

extension LayerListing {
    init(entries: [LayerEntry]) { self.entries = entries }
}
