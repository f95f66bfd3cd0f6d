// A plugin as built against plugin API 2 and earlier: an entry point, but no
// `kiln_plugin_api_version` symbol. The host must refuse it before calling the entry.
import PluginAPI

@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(NoVersionModule()).toOpaque()
}

final class NoVersionModule: KilnPluginModule {
    let name = "NoVersion"
    let summary = "exports no kiln_plugin_api_version (test fixture)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] { [] }
}
