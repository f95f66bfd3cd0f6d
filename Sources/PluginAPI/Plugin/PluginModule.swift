// The contract between the `kiln` host and its dynamically loaded plugins.
//
// A plugin is a shared library exporting two C symbols:
// - `kiln_plugin_api_version` (`() -> UInt32`): the contract version it was compiled against,
//   which the host checks before it touches any Swift type of the plugin;
// - `kiln_plugin_entry` (`() -> void *`): a +1 retained object conforming to `KilnPluginModule`.
// See README.md beside this file for a worked example and the versioning rules.

/// A semantic version of the plugin contract.
///
/// A host speaking version H loads a plugin built against version P when P.major == H.major and
/// P.minor <= H.minor: minor versions only add (a new protocol with a default, a new case the
/// plugin never receives); anything else that changes a type's layout or a requirement is major.
public struct PluginAPIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: UInt32
    public let minor: UInt32
    public let patch: UInt32

    @inlinable public init(major: UInt32, minor: UInt32, patch: UInt32) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The form exchanged through `kiln_plugin_api_version`: `major * 1_000_000 + minor * 1_000 + patch`.
    @inlinable public var packed: UInt32 { major * 1_000_000 + minor * 1_000 + patch }

    public init(packed: UInt32) {
        self.init(major: packed / 1_000_000, minor: packed / 1_000 % 1_000, patch: packed % 1_000)
    }

    /// True when a host speaking this version can load a plugin built against `plugin`.
    public func accepts(_ plugin: PluginAPIVersion) -> Bool {
        plugin.major == major && plugin.minor <= minor
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: PluginAPIVersion, b: PluginAPIVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}

/// The version of this contract, compiled into whoever reads it.
///
/// `@_alwaysEmitIntoClient` puts the value into the caller's binary: a plugin's
/// `kiln_plugin_api_version` returns the version of the PluginAPI sources it was *built*
/// against, not that of the libPluginAPI.so it happens to be loaded with (a `public let` here
/// would be read from the loaded library at run time and always agree with the host).
@_alwaysEmitIntoClient public var kilnPluginAPIVersion: PluginAPIVersion {
    PluginAPIVersion(major: 3, minor: 1, patch: 0)
}

/// The C symbol every plugin exports: its root object.
public let kilnPluginEntrySymbol = "kiln_plugin_entry"

/// The C symbol every plugin exports: the contract version it was built against, as
/// `PluginAPIVersion.packed`. Each plugin defines it itself, so the value is its own:
///
///     @_cdecl("kiln_plugin_api_version")
///     public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }
public let kilnPluginAPIVersionSymbol = "kiln_plugin_api_version"

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
    /// The plugin's name (a single safe path component), e.g. `SnapshotTime`.
    var name: String { get }
    /// One line for `kiln plugins`.
    var summary: String { get }
    /// Makes the plugin's components. Throws when the plugin cannot work on this machine.
    func makeComponents(context: PluginContext) throws -> [any PluginComponent]
}
