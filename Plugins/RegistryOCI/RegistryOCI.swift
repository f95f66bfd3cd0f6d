// The RegistryOCI plugin: a client of the OCI distribution API over libcurl (component `oci`).
import Foundation
import PluginAPI

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(RegistryOCIModule()).toOpaque()
}

final class RegistryOCIModule: KilnPluginModule {
    let name = "RegistryOCI"
    let summary = "OCI distribution client over libcurl: token/basic auth, TLS per registry, mounts, retries"

    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        let environment = ProcessInfo.processInfo.environment
        let tuning = Tuning(options: context.options, environment: environment)
        return [OCIRegistryClient(options: context.registry, tuning: tuning, environment: environment, log: context.log)]
    }
}
