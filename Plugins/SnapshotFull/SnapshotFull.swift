// The `full` snapshot plugin: lstat data plus content digests, re-reading only what changed.
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(SnapshotFullModule()).toOpaque()
}

final class SnapshotFullModule: KilnPluginModule {
    let name = "SnapshotFull"
    let summary = "snapshot mode 'full': lstat data plus SHA-256 of content, re-hashing only files whose stat data changed or is racy"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        [FullSnapshot()]
    }
}
