import Dockerfile
import ImageModel
import ImageStore
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

    var containerConfig: ContainerConfig {
        get { config.config ?? ContainerConfig() }
        set { config.config = newValue }
    }

    /// The environment instruction arguments expand with: ARG values overlaid by ENV (ENV wins,
    /// as in Docker).
    var expansionEnvironment: [String: String] {
        var env: [String: String] = [:]
        for (name, value) in arguments.values { env[name] = value }
        for entry in containerConfig.env ?? [] {
            if let eq = entry.firstIndex(of: "=") { env[String(entry[..<eq])] = String(entry[entry.index(after: eq)...]) }
        }
        return env
    }

    /// ENV entries followed by ARGs that ENV does not override: the environment RUN sees.
    var runEnvironment: [String] {
        var env = containerConfig.env ?? []
        let names = Set(env.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
        for (name, value) in arguments.values.merging(arguments.proxyEnvironment, uniquingKeysWith: { a, _ in a }).sorted(by: {
            $0.key < $1.key
        })
        where !names.contains(name) {
            env.append("\(name)=\(value)")
        }
        return env
    }

    /// Sets (or replaces in place) an ENV entry.
    mutating func setEnv(_ key: String, _ value: String) {
        var env = containerConfig.env ?? []
        if let i = env.firstIndex(where: { $0.hasPrefix(key + "=") }) {
            env[i] = "\(key)=\(value)"
        } else {
            env.append("\(key)=\(value)")
        }
        containerConfig.env = env
    }

    var workingDirectory: String { containerConfig.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/" }
    var user: String { containerConfig.user ?? "" }
}
