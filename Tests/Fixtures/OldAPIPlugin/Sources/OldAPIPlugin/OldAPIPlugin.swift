// A plugin that says it was built for another major version of the plugin API.
import PluginAPI

/// Version 999.0.0: no host of this contract's major version may load it.
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { PluginAPIVersion(major: 999, minor: 0, patch: 0).packed }

@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(OldAPIModule()).toOpaque()
}

final class OldAPIModule: KilnPluginModule {
    let name = "OldAPI"
    let summary = "claims plugin API version 999.0.0 (test fixture)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] { [] }
}
