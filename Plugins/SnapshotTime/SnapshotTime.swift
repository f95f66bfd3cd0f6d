// The `time` snapshot plugin: change detection from lstat data alone.
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(SnapshotTimeModule()).toOpaque()
}

final class SnapshotTimeModule: KilnPluginModule {
    let name = "SnapshotTime"
    let summary = "snapshot mode 'time': detects changes from lstat data (mtime ns, size, mode, owner, inode, xattrs), never reads content"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        [TimeSnapshot()]
    }
}
