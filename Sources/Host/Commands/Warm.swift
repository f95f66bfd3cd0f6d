import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import PluginAPI

/// `kiln warm`: kaniko's warmer (fills the base-image cache read by `--cache-dir`).
struct Warm: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(abstract: "Download base images into --cache-dir (kaniko's warmer).")

    @Option(name: [.customShort("i"), .customLong("image")], help: "Image to cache; repeatable.") var images: [String] = []
    @Option(name: [.customShort("d"), .customLong("dockerfile")], help: "Cache every FROM image of this Dockerfile.") var dockerfile:
        String?
    @Option(name: .customLong("build-arg"), help: "Build argument used to expand FROM lines; repeatable.") var buildArgs: [String] = []
    @Option(name: [.customShort("c"), .customLong("cache-dir")], help: "Cache directory.") var cacheDir = "/cache"
    @Option(name: .customLong("cache-ttl"), help: "Entries older than this are downloaded again, e.g. 336h.") var cacheTTL = "336h"
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Download even when a fresh entry is cached.") var force = false
    @Option(name: [.customLong("custom-platform"), .customLong("customPlatform")], help: "Platform to pick from multi-platform images.")
    var customPlatform: String?
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let env = ProcessInfo.processInfo.environment
        let log = try HostWiring.log(global)
        var build = try BuildFlags.parse(
            buildArgs.flatMap { ["--build-arg", $0] } + (customPlatform.map { ["--custom-platform", $0] } ?? []))
        build.context = "."
        let output = try OutputFlags.parse(["--cache-dir", cacheDir, "--cache-ttl", cacheTTL, "--no-push"])
        let (options, host) = try BuildOptionsFactory.make(build: build, output: output, registry: registry, environment: env)
        let plugins = try HostWiring.loadPlugins(global, registry: host.registry, log: log, extraPlugin: host.registryPlugin)
        let components = try ComponentResolver.resolve(
            plugins, snapshotMode: host.snapshotMode, registryName: host.registryPlugin, needsRegistry: false)
        var refs: [ImageReference] = []
        for i in images {
            do { refs.append(try ImageReference(parsing: i)) } catch { throw KilnError.usage("--image", cause: error) }
        }
        if let dockerfile {
            let text: String
            do { text = try String(contentsOfFile: dockerfile, encoding: .utf8) } catch {
                throw KilnError.usage("cannot read \(dockerfile): \(error)")
            }
            refs += try Warmer.baseImages(
                ofDockerfile: text, fileName: dockerfile, source: options.source, platform: options.platform
            ).filter { !refs.contains($0) }
        }
        guard !refs.isEmpty else { throw KilnError.usage("kiln warm needs --image or --dockerfile") }
        try await Warmer(options: options.baseImages, platform: options.platform, components: components, log: log, force: force)
            .warm(refs)
    }
}
