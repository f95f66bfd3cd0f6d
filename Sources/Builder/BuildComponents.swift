import Diagnostics
import PluginAPI

/// The plugin components a build uses, resolved by the Host (or a test) before the build: the
/// engine never sees the plugin loader.
public struct BuildComponents: Sendable {
    /// Detects what RUN changed (`--snapshot-mode`).
    public var snapshot: any SnapshotStrategy
    /// Pulls bases and pushes results; nil when the Host found none (a build that pulls or
    /// pushes then fails with `registryUnavailable`).
    public var registry: (any RegistryClient)?
    /// Runs foreign-architecture RUN steps, when a backend is present.
    public var crossBuild: (any CrossBuildBackend)?
    /// Why `registry` is nil, for the error of a build that needs one.
    public var registryUnavailable: KilnError

    public init(
        snapshot: any SnapshotStrategy, registry: (any RegistryClient)? = nil, crossBuild: (any CrossBuildBackend)? = nil,
        registryUnavailable: KilnError = KilnError(.notFound, "no registry client is available")
    ) {
        self.snapshot = snapshot
        self.registry = registry
        self.crossBuild = crossBuild
        self.registryUnavailable = registryUnavailable
    }

    /// The registry client, or the reason there is none.
    public func registryClient() throws -> any RegistryClient {
        guard let registry else { throw registryUnavailable }
        return registry
    }
}
