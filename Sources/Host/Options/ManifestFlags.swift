import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import PluginAPI
import PluginHost
import SystemCalls

/// manifest-tool's registry flags, on top of the build's registry, TLS and plugin flags.
struct ManifestAccessFlags: ParsableArguments {
    @Option(name: .customLong("username"), help: "User name for every registry the command reaches (with --password).")
    var username: String?
    @Option(name: .customLong("password"), help: "Password or token for --username.")
    var password: String?
    @Option(
        name: .customLong("docker-cfg"),
        help: ArgumentHelp("Directory holding config.json (default: $DOCKER_CONFIG, else ~/.docker).", valueName: "dir"))
    var dockerConfig: String?
    @Option(name: .customLong("push-retry"), help: "Extra attempts for failed pushes (exponential back-off).")
    var pushRetry = 0
}

/// Everything a manifest command needs to reach registries: the same plugin, credentials and
/// TLS settings as a build.
struct ManifestSession {
    let client: any RegistryClient
    let log: BuildLog
    /// A private directory for downloads, removed by `close()`.
    let workDirectory: String

    /// Loads the registry plugin with the build's options. `--username/--password` are handed to
    /// the plugin as KILN_REGISTRY_USERNAME/PASSWORD for exactly the `hosts` this command
    /// reaches, the plugin's own way of taking explicit credentials (never offered elsewhere).
    static func open(
        access: ManifestAccessFlags, registry: RegistryFlags, global: GlobalFlags, hosts: [String]
    ) throws -> ManifestSession {
        let env = ProcessInfo.processInfo.environment
        let log = try HostWiring.log(global)
        let build = try BuildFlags.parse([])
        let output = try OutputFlags.parse(["--no-push", "--push-retry", String(access.pushRetry)])
        var (_, settings) = try BuildOptionsFactory.make(build: build, output: output, registry: registry, environment: env)
        // A manifest command reads and writes the same registries: `--insecure` (kaniko's "push
        // over plain HTTP") covers its reads too.
        settings.registry.insecurePull = settings.registry.insecurePull || settings.registry.insecurePush
        if let dir = access.dockerConfig {
            var isDirectory = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), !isDirectory {
                guard dir.split(separator: "/").last == "config.json" else {
                    throw KilnError.usage("--docker-cfg takes a directory holding config.json, or a file named config.json: \(dir)")
                }
                let slash = dir.lastIndex(of: "/")
                settings.registry.dockerConfigDirectory = slash.map { $0 == dir.startIndex ? "/" : String(dir[..<$0]) } ?? ""
            } else {
                settings.registry.dockerConfigDirectory = dir
            }
        }
        switch (access.username, access.password) {
        case (nil, nil): break
        case (let user?, let password?):
            guard !user.isEmpty else { throw KilnError.usage("--username must not be empty") }
            setenv("KILN_REGISTRY", Array(Set(hosts)).sorted().joined(separator: ","), 1)
            setenv("KILN_REGISTRY_USERNAME", user, 1)
            setenv("KILN_REGISTRY_PASSWORD", password, 1)
        default: throw KilnError.usage("--username and --password go together")
        }
        let plugins = try HostWiring.loadPlugins(global, registry: settings.registry, log: log, extraPlugin: settings.registryPlugin)
        guard let client = plugins.registryClient(named: settings.registryPlugin) else {
            throw ComponentResolver.missingRegistry(plugins, name: settings.registryPlugin)
        }
        let temporary = FileManager.default.temporaryDirectory.path
        var template = Array((temporary + "/kiln-manifest-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            let code = errno
            throw KilnError(
                KilnError.code(errno: code), "cannot create a temporary directory in \(temporary)",
                cause: SystemCallError(call: "mkdtemp", subject: temporary, code: code))
        }
        return ManifestSession(client: client, log: log, workDirectory: String(cString: made))
    }

    /// A log callback for the ManifestTool module.
    var sink: @Sendable (LogLevel, String) -> Void {
        let log = self.log
        return { level, message in log(level, message) }
    }

    func close() {
        try? FileManager.default.removeItem(atPath: workDirectory)
    }
}
