import FoundationEssentials
import Glibc
import PluginAPI

/// A plugin that loaded, was cast and passed the version check.
public struct LoadedPlugin: Sendable {
    public var path: String
    /// The contract version the plugin was built against (from `kiln_plugin_api_version`).
    public var apiVersion: PluginAPIVersion
    public var module: any KilnPluginModule
    public var components: [any PluginComponent]

    public var name: String { module.name }
}

/// Why a plugin could not be used. Each case names the library's path.
public enum PluginLoadError: Error, CustomStringConvertible, Equatable {
    case openFailed(path: String, reason: String)
    case missingEntry(path: String)
    /// The library exports no `kiln_plugin_api_version`: a plugin built against API 2 or earlier.
    case missingVersion(path: String)
    case entryReturnedNil(path: String)
    case wrongType(path: String, dynamicType: String)
    /// `plugin` is the name the file gives (`libKilnPlugin<name>.so`): the plugin's own code has
    /// not run yet.
    case apiMismatch(path: String, plugin: String, found: PluginAPIVersion, expected: PluginAPIVersion)
    case componentsFailed(path: String, plugin: String, reason: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let reason):
            return "cannot load plugin \(path): \(reason)"
        case .missingEntry(let path):
            return "\(path) is not a kiln plugin: it does not export '\(kilnPluginEntrySymbol)'"
        case .missingVersion(let path):
            return "\(path) was built for plugin API 2 or earlier (it does not export '\(kilnPluginAPIVersionSymbol)'), "
                + "but this kiln speaks version \(kilnPluginAPIVersion): rebuild the plugin against this kiln's PluginAPI"
        case .entryReturnedNil(let path):
            return "plugin \(path): '\(kilnPluginEntrySymbol)' returned nothing"
        case .wrongType(let path, let type):
            return "plugin \(path): entry returned \(type), which does not conform to KilnPluginModule "
                + "(was it built against another copy of PluginAPI? link the PluginAPI product, not the target)"
        case .apiMismatch(let path, let plugin, let found, let expected):
            return "plugin '\(plugin)' at \(path) was built for plugin API version \(found), but this kiln "
                + "speaks version \(expected) (it loads \(expected.major).x plugins up to \(expected.major).\(expected.minor)): "
                + "rebuild the plugin against this kiln's PluginAPI"
        case .componentsFailed(let path, let plugin, let reason):
            return "plugin '\(plugin)' at \(path) failed to start: \(reason)"
        }
    }
}

/// Loads plugins with `dlopen`. Plugins are never unloaded (see `load(path:)`).
public struct PluginLoader: Sendable {
    public var discovery: any PluginDiscovery
    public var context: PluginContext

    public init(discovery: any PluginDiscovery = StandardPluginDiscovery(), context: PluginContext = PluginContext()) {
        self.discovery = discovery
        self.context = context
    }

    /// Loads every candidate; returns what loaded and what failed (failures never abort
    /// the others). When two plugins share a name, the first found wins.
    public func loadAll() -> (plugins: [LoadedPlugin], failures: [PluginLoadError]) {
        var plugins: [LoadedPlugin] = []
        var failures: [PluginLoadError] = []
        var names = Set<String>()
        for path in discovery.candidates() {
            do {
                let p = try load(path: path)
                if names.insert(p.name).inserted { plugins.append(p) }
            } catch let e as PluginLoadError {
                failures.append(e)
            } catch {
                failures.append(.openFailed(path: path, reason: "\(error)"))
            }
        }
        return (plugins, failures)
    }

    /// Loads one plugin library.
    ///
    /// Unsafe assumptions, checked where they can be:
    /// - `kiln_plugin_api_version` has the C signature `() -> uint32_t`. It is called before any
    ///   Swift type of the plugin is touched, so a plugin built against another contract is
    ///   refused before a mismatched type layout can do harm.
    /// - `kiln_plugin_entry` has the C signature `() -> void *` and returns a +1 retained Swift
    ///   object (we take the retain with `takeRetainedValue`). A library exporting the symbols with
    ///   other signatures is undefined behaviour; the prefix `libKilnPlugin` is the guard.
    /// - The library links the same `libPluginAPI.so` as the host; otherwise the cast below fails
    ///   and we report the dynamic type instead of crashing.
    /// - `RTLD_NODELETE`: Swift metadata and conformance caches keep pointers into the image, so
    ///   a plugin must never be unloaded; we never call `dlclose`.
    public func load(path: String) throws -> LoadedPlugin {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw PluginLoadError.openFailed(path: path, reason: dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        guard let versionSymbol = dlsym(handle, kilnPluginAPIVersionSymbol) else {
            throw PluginLoadError.missingVersion(path: path)
        }
        typealias VersionEntry = @convention(c) () -> UInt32
        let version = PluginAPIVersion(packed: unsafeBitCast(versionSymbol, to: VersionEntry.self)())
        guard kilnPluginAPIVersion.accepts(version) else {
            throw PluginLoadError.apiMismatch(
                path: path, plugin: StandardPluginDiscovery.pluginName(fileName: path), found: version, expected: kilnPluginAPIVersion)
        }
        guard let symbol = dlsym(handle, kilnPluginEntrySymbol) else {
            throw PluginLoadError.missingEntry(path: path)
        }
        typealias Entry = @convention(c) () -> UnsafeMutableRawPointer?
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let raw = entry() else { throw PluginLoadError.entryReturnedNil(path: path) }
        let object = Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue()
        guard let module = object as? any KilnPluginModule else {
            throw PluginLoadError.wrongType(path: path, dynamicType: String(reflecting: type(of: object)))
        }
        do {
            let components = try module.makeComponents(context: context)
            return LoadedPlugin(path: path, apiVersion: version, module: module, components: components)
        } catch {
            throw PluginLoadError.componentsFailed(path: path, plugin: module.name, reason: "\(error)")
        }
    }
}

/// The loaded plugins, with look-ups by kind and component name.
public struct PluginSet: Sendable {
    public var plugins: [LoadedPlugin]
    public var failures: [PluginLoadError]

    public init(plugins: [LoadedPlugin], failures: [PluginLoadError] = []) {
        self.plugins = plugins
        self.failures = failures
    }

    public init(loader: PluginLoader) {
        let (p, f) = loader.loadAll()
        self.init(plugins: p, failures: f)
    }

    public var components: [(plugin: LoadedPlugin, component: any PluginComponent)] {
        plugins.flatMap { p in p.components.map { (p, $0) } }
    }

    public func snapshotStrategy(named name: String) -> (any SnapshotStrategy)? {
        components.lazy.compactMap { $0.component as? any SnapshotStrategy }.first { $0.name == name }
    }

    /// A registry client by component name, plugin name, or the path of a plugin library
    /// (which is loaded on demand by `PluginSet.loadingRegistry`).
    public func registryClient(named name: String) -> (any RegistryClient)? {
        for (p, c) in components {
            guard let r = c as? any RegistryClient else { continue }
            if r.name == name || p.name == name || p.path == name { return r }
        }
        return nil
    }

    public func crossBuildBackend(named name: String? = nil) -> (any CrossBuildBackend)? {
        components.lazy.compactMap { $0.component as? any CrossBuildBackend }.first { name == nil || $0.name == name }
    }
}
