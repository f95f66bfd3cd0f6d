import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import PluginAPI
import PluginHost

/// `kiln build` (and `kiln` alone): kaniko's executor.
struct Build: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an image from a Dockerfile (the default command; kaniko's executor flags).")

    @OptionGroup(title: "Build") var build: BuildFlags
    @OptionGroup(title: "Output") var output: OutputFlags
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup(title: "Logging and plugins") var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let environment = ProcessInfo.processInfo.environment
        let log = try HostWiring.log(global)
        var (options, host) = try BuildOptionsFactory.make(build: build, output: output, registry: registry, environment: environment)
        let plugins = try HostWiring.loadPlugins(global, registry: host.registry, log: log, extraPlugin: host.registryPlugin)
        let components = try ComponentResolver.resolve(
            plugins, snapshotMode: host.snapshotMode, registryName: host.registryPlugin, needsRegistry: options.outputs.pushes)
        if !build.checkOnly { options.execution.isolation = try IsolationChoice.resolve(flag: host.isolation, force: host.force, log: log) }
        if output.ociLayoutPath == nil && output.tarPath == nil && options.outputs.destinations.isEmpty && !build.checkOnly {
            log.warning("no --destination, --tar-path or --oci-layout-path: the image is written to the OCI layout ./kiln-out")
        }
        SignalCleanup.install(releasing: components.crossBuild)
        let builder = ImageBuilder(options: options, components: components, log: log)
        if build.checkOnly {
            // `--check`: BuildKit's `docker build --check`: the warnings, and a failure exit when any.
            let report = try await builder.checkFetchingContext()
            for warning in report.warnings { BuildLog.standardError(warning.description) }
            if report.warnings.isEmpty { BuildLog.standardError("kiln: check complete, no warnings found") }
            if let error = report.error { throw KilnError.dockerfile(error) }
            if !report.warnings.isEmpty { throw ExitCode(1) }
            return
        }
        let result = try await builder.run()
        print(result.digest.description)
    }
}
