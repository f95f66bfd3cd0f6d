import FoundationEssentials
import Glibc
import PluginAPI

/// Where plugins are looked for, in order. A protocol so tests can substitute the search.
public protocol PluginDiscovery: Sendable {
    /// Candidate shared libraries, in priority order; earlier plugins with the same name win.
    func candidates() -> [String]
}

/// The standard search: `--plugin-dir`, then `$KILN_PLUGIN_PATH` (colon-separated), then
/// `<exe dir>/plugins`, `<exe dir>/../lib/kiln/plugins`, then the executable's own directory
/// (the SwiftPM build folder). Only files named `libKilnPlugin*.so` are candidates, so
/// `libPluginAPI.so` is never opened as a plugin.
public struct StandardPluginDiscovery: PluginDiscovery {
    public var pluginDirectories: [String]
    public var environmentPath: String?
    public var executableDirectory: String?

    public init(
        pluginDirectories: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
        executableDirectory: String? = StandardPluginDiscovery.executableDirectory()
    ) {
        self.pluginDirectories = pluginDirectories
        self.environmentPath = environment["KILN_PLUGIN_PATH"]
        self.executableDirectory = executableDirectory
    }

    /// The directory of the running executable, from `/proc/self/exe` (not argv[0]).
    public static func executableDirectory() -> String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        guard let slash = exe.lastIndex(of: "/") else { return nil }
        return slash == exe.startIndex ? "/" : String(exe[..<slash])
    }

    /// The plugin name a library's file name gives: `libKilnPlugin<name>.so` → `<name>`.
    public static func pluginName(fileName path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        if name.hasPrefix("libKilnPlugin") { name = name.dropFirst("libKilnPlugin".count) }
        if name.hasSuffix(".so") { name = name.dropLast(3) }
        return String(name)
    }

    public var searchDirectories: [String] {
        var dirs = pluginDirectories
        if let env = environmentPath { dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty } }
        if let exe = executableDirectory {
            dirs += [exe + "/plugins", exe + "/../lib/kiln/plugins", exe]
        }
        return dirs
    }

    public func candidates() -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for dir in searchDirectories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() where name.hasPrefix("libKilnPlugin") && name.hasSuffix(".so") {
                let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
                // realpath(3): NSString's resolvingSymlinksInPath leaves relative links unresolved
                // on Linux, and the same library would be offered twice.
                let real =
                    realpath(path, nil).map { resolved in
                        defer { free(resolved) }
                        return String(cString: resolved)
                    } ?? path
                if seen.insert(real).inserted { out.append(path) }
            }
        }
        return out
    }
}
