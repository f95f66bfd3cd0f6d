import Dockerfile
import ImageModel
import ImageStore
import LayerCache
import PluginAPI

/// Everything a stage has accumulated: its image so far and the build-time state that is not
/// part of the image (ARGs, SHELL, the snapshot).
struct StageState {
    var config: ImageConfig
    var layers: [Layer]
    var format: ManifestFormat
    /// ARGs declared in this stage.
    var arguments: StageArguments
    /// The stage's SHELL for shell-form RUN, CMD and ENTRYPOINT.
    var shell: [String] = ["/bin/sh", "-c"]
    /// CMD came from the base image (an ENTRYPOINT in this stage then clears it).
    var cmdFromBase = false
    /// The root's recorded state for RUN snapshots; nil until the first RUN needs it.
    var snapshot: SnapshotState?
    /// Files changed outside a RUN (COPY, WORKDIR) since `snapshot` was taken.
    var snapshotStale = false
    /// The layer cache's record of the stage so far (base, then each step's output).
    var cacheChain: CacheChain?
    /// Layers of the image not yet extracted into the root (with the layer cache on: the base
    /// and cache hits), in order; extracted when a step first needs the root's files.
    var pendingLayers: [Layer] = []
    /// The base image whose layers begin `pendingLayers` while the root is still empty (it can
    /// then be an overlay over the base's files extracted once).
    var pendingBase: PulledImage?

    /// ENV keys → their index in `config.config.env`, and the expansion environment, kept up
    /// to date by `setEnv` and `declare` so that neither costs time in the stage's length.
    /// ENV entries change only through `setEnv`.
    private var envIndex: [String: Int] = [:]
    /// The environment instruction arguments expand with: ARG values overlaid by ENV (ENV wins,
    /// as in Docker).
    private(set) var expansionEnvironment: [String: String] = [:]

    init(config: ImageConfig, layers: [Layer], format: ManifestFormat, arguments: StageArguments) {
        self.config = config
        self.layers = layers
        self.format = format
        self.arguments = arguments
        expansionEnvironment = arguments.values
        for (index, entry) in (config.config?.env ?? []).enumerated() {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let key = String(entry[..<eq])
            // A repeated key: ENV replaces the first entry, expansion sees the last (as before).
            if envIndex[key] == nil { envIndex[key] = index }
            expansionEnvironment[key] = String(entry[entry.index(after: eq)...])
        }
    }

    var containerConfig: ContainerConfig {
        get { config.config ?? ContainerConfig() }
        set { config.config = newValue }
    }

    /// ENV entries followed by ARGs that ENV does not override: the environment RUN sees.
    var runEnvironment: [String] {
        var env = containerConfig.env ?? []
        for (name, value) in arguments.values.merging(arguments.proxyEnvironment, uniquingKeysWith: { a, _ in a }).sorted(by: {
            $0.key < $1.key
        })
        where envIndex[name] == nil {
            env.append("\(name)=\(value)")
        }
        return env
    }

    /// Sets (or replaces in place) an ENV entry; the array is changed in place, not copied.
    mutating func setEnv(_ key: String, _ value: String) {
        if config.config == nil { config.config = ContainerConfig() }
        if config.config?.env == nil { config.config?.env = [] }
        if let i = envIndex[key] {
            config.config?.env?[i] = "\(key)=\(value)"
        } else {
            envIndex[key] = config.config?.env?.count ?? 0
            config.config?.env?.append("\(key)=\(value)")
        }
        expansionEnvironment[key] = value
    }

    /// Declares an ARG line in this stage (`StageArguments.declare` with the expansion
    /// environment) and adds its values where no ENV of the same name wins.
    mutating func declare(_ arg: ArgInstruction, escape: Character) throws {
        let resolved = try arguments.declare(arg, environment: expansionEnvironment, escape: escape)
        for argument in resolved where envIndex[argument.name] == nil {
            expansionEnvironment[argument.name] = arguments.values[argument.name]
        }
    }

    var workingDirectory: String { containerConfig.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/" }
    var user: String { containerConfig.user ?? "" }
}
