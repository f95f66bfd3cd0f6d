// A library named like a plugin that exports no `kiln_plugin_entry`.
import PluginAPI

/// Not `@_cdecl`: the host's dlsym finds nothing and must report this library's path.
public func notAnEntryPoint() -> Int { kilnPluginAPIVersion }
