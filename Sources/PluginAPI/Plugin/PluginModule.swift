// The contract between the `kiln` host and its dynamically loaded plugins.
//
// A plugin is a shared library exporting one C symbol, `kiln_plugin_entry`, which returns a +1
// retained object conforming to `KilnPluginModule`. The host checks the cast and `apiVersion`
// before using it. Host and in-tree plugins are built in lockstep; bump `kilnPluginAPIVersion`
// whenever a type in this package changes its layout or a protocol changes its requirements,
// so that a plugin built against another version is refused instead of crashing.

/// The version of this contract. A plugin reporting another value is refused.
public let kilnPluginAPIVersion = 2

/// The C symbol every plugin exports.
public let kilnPluginEntrySymbol = "kiln_plugin_entry"

/// What a plugin component provides.
public enum PluginKind: String, Sendable, CaseIterable, Codable {
    case snapshot
    case registry
    case crossBuild = "cross-build"
}

/// One capability offered by a plugin module.
public protocol PluginComponent: Sendable {
    /// Stable name the user selects it by (`time`, `full`, `oci`, `qemu`…).
    var name: String { get }
    var kind: PluginKind { get }
}

/// Severity of a plugin's log line.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warning, error
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// What the host hands a plugin when it makes its components.
public struct PluginContext: Sendable {
    /// Where log lines go. Plugins must never pass credentials or tokens to it.
    public var log: @Sendable (LogLevel, String) -> Void
    /// Registry settings from the command line (used by registry plugins).
    public var registry: RegistryOptions
    /// Free-form `key=value` settings (`--plugin-option`), for plugins built outside kiln.
    public var options: [String: String]

    public init(
        log: @escaping @Sendable (LogLevel, String) -> Void = { _, _ in },
        registry: RegistryOptions = RegistryOptions(), options: [String: String] = [:]
    ) {
        self.log = log
        self.registry = registry
        self.options = options
    }
}

/// The root object a plugin's entry point returns.
public protocol KilnPluginModule: AnyObject, Sendable {
    /// Must return `kilnPluginAPIVersion` as compiled into the plugin.
    var apiVersion: Int { get }
    /// The plugin's name (a single safe path component), e.g. `SnapshotTime`.
    var name: String { get }
    /// One line for `kiln plugins`.
    var summary: String { get }
    /// Makes the plugin's components. Throws when the plugin cannot work on this machine.
    func makeComponents(context: PluginContext) throws -> [any PluginComponent]
}

extension KilnPluginModule {
    public var apiVersion: Int { kilnPluginAPIVersion }
}
