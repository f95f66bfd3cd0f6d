import Foundation
import PluginAPI

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
