// A library named like a plugin that states its API version but exports no `kiln_plugin_entry`.
import PluginAPI

@_cdecl("kiln_plugin_api_version")
public func kilnPluginAPIVersionEntry() -> UInt32 { kilnPluginAPIVersion.packed }

/// Not `@_cdecl`: the host's dlsym finds nothing and must report this library's path.
public func notAnEntryPoint() -> UInt32 { kilnPluginAPIVersion.packed }
