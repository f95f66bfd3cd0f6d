import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import PluginAPI
import PluginHost
import PluginSupport

/// `kiln plugins`: what was found, and what failed to load.
struct Plugins: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(abstract: "List the plugins kiln finds (name, kind, API version, path).")

    @OptionGroup var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let log = try HostWiring.log(global)
        let set = try HostWiring.loadPlugins(global, registry: RegistryOptions(), log: log)
        var rows: [[String]] = [["NAME", "KIND", "COMPONENTS", "API", "PATH"]]
        for p in set.plugins {
            let kinds = Set(p.components.map(\.kind.rawValue)).sorted().joined(separator: ",")
            let names = p.components.map(\.name).joined(separator: ",")
            rows.append([p.name, kinds, names, p.apiVersion.description, p.path])
        }
        let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            print(
                row.enumerated().map { i, v in i == 4 ? v : v.padded(to: widths[i]) }.joined(
                    separator: "  "))
        }
        for f in set.failures {
            print("error: \(f)")
        }
        if !set.failures.isEmpty { throw ExitCode(1) }
    }
}

/// The glue every command shares: logging and plugin loading.
enum HostWiring {
    static func log(_ g: GlobalFlags) throws -> BuildLog {
        guard let level = BuildLog.level(named: g.verbosity) else {
            throw KilnError.usage("--verbosity must be trace, debug, info, warn or error, not '\(g.verbosity)'")
        }
        guard let format = BuildLog.Format(rawValue: g.logFormat) else {
            throw KilnError.usage("--log-format must be text, color or json, not '\(g.logFormat)'")
        }
        return BuildLog(level: level, format: format, timestamps: g.logTimestamp)
            .withProgress(environment: ProcessInfo.processInfo.environment, terminal: isatty(STDERR_FILENO) == 1)
    }

    static func loadPlugins(_ g: GlobalFlags, registry: RegistryOptions, log: BuildLog, extraPlugin: String? = nil) throws -> PluginSet {
        var options: [String: String] = [:]
        for o in g.pluginOptions {
            if let eq = o.firstIndex(of: "=") { options[String(o[..<eq])] = String(o[o.index(after: eq)...]) }
        }
        let context = PluginContext(log: log.pluginSink, registry: registry, options: options)
        let loader = PluginLoader(discovery: StandardPluginDiscovery(pluginDirectories: g.pluginDirs), context: context)
        var set = PluginSet(loader: loader)
        // `--registry-plugin /path/libKilnPluginX.so`: that library, loaded first.
        if let path = extraPlugin, path.contains("/") {
            set.plugins.insert(try loader.load(path: path), at: 0)
        }
        for p in set.plugins { log.debug("plugin \(p.name) loaded from \(p.path)") }
        for f in set.failures { log.warning("\(f)") }
        return set
    }
}
