// Entry point of the out-of-package registry fixture.
import PluginAPI

/// The plugin API version this plugin was compiled against (checked before anything else).
@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Plugin entry point: returns the module, +1 retained (the host takes the retain).
@_cdecl("kiln_plugin_entry")
public func kilnPluginEntry() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(DirectoryRegistryModule()).toOpaque()
}

final class DirectoryRegistryModule: KilnPluginModule {
    let name = "DirectoryRegistry"
    let summary = "a registry kept in a local directory (test fixture built outside kiln)"

    func makeComponents(context: PluginContext) throws -> [any PluginComponent] {
        guard let directory = context.options["directory"], !directory.isEmpty else {
            throw DirectoryRegistryError(
                message: "the directory registry needs a place to keep images: pass --plugin-option directory=<path>")
        }
        return [DirectoryRegistryClient(root: directory, log: context.log)]
    }
}

/// Why a request to the directory registry failed.
struct DirectoryRegistryError: RegistryFailure {
    var message: String
    var statusCode: Int? { nil }
    var isTemporary: Bool { false }
    var description: String { message }
}
