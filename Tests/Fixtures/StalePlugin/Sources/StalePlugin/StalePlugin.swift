// A well-formed plugin, exactly as a plugin author writes one: whatever version it reports comes
// from the PluginAPI sources it was compiled against.
import PluginAPI

@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(StaleModule()).toOpaque()
}

final class StaleModule: KilnPluginModule {
    let name = "Stale"
    let summary = "built against another copy of the plugin contract (test fixture)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] { [] }
}
