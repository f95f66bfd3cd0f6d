import Foundation
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(CrossQEMUModule()).toOpaque()
}

final class CrossQEMUModule: KilnPluginModule {
    let name = "CrossQEMU"
    let summary = "runs foreign-architecture RUN steps under QEMU user mode (binfmt_misc)"
    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        [QEMUUserBackend(log: context.log)]
    }
}
