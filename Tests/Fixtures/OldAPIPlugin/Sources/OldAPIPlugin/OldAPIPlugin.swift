// A plugin that says it was built for another plugin API version.
import PluginAPI

@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(OldAPIModule()).toOpaque()
}

final class OldAPIModule: KilnPluginModule {
    /// Overrides PluginAPI's default (`kilnPluginAPIVersion`), as a plugin compiled against a
    /// different contract would report.
    var apiVersion: Int { 999 }
    let name = "OldAPI"
    let summary = "claims plugin API version 999 (test fixture)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] { [] }
}
