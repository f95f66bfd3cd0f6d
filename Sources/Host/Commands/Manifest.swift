import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import ManifestTool
import PluginAPI

/// `kiln manifest`: manifest-tool's job (merge per-platform images into one index) built in.
struct ManifestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Create and inspect multi-platform images (manifest-tool's commands).",
        discussion: """
            manifest-tool's global flags (--username, --password, --docker-cfg) and push's --type \
            may also stand before the subcommand, as in `kiln manifest --username u push --type oci from-args …`.
            """,
        subcommands: [ManifestPush.self, ManifestInspect.self])
}

/// `kiln manifest push`.
struct ManifestPush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push a manifest list or image index made from existing images.",
        subcommands: [ManifestPushFromArgs.self, ManifestPushFromSpec.self])
}

/// The flags of both push forms.
struct ManifestPushFlags: ParsableArguments {
    @Option(name: .customLong("type"), help: "docker (manifest list) or oci (image index); default: follow the sources.")
    var type: String?
    @Flag(name: .customLong("ignore-missing"), help: "Leave out sources that do not exist instead of failing.")
    var ignoreMissing = false

    func options() throws -> ManifestPusher.Options {
        var kind: IndexKind?
        if let type {
            guard let k = IndexKind(rawValue: type.lowercased()) else {
                throw KilnError.usage("--type must be docker or oci, not '\(type)'")
            }
            kind = k
        }
        return ManifestPusher.Options(ignoreMissing: ignoreMissing, kind: kind)
    }
}

/// `kiln manifest push from-args`.
struct ManifestPushFromArgs: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        commandName: "from-args",
        abstract: "Merge one image per platform, named by a template, into an index.",
        discussion: """
            In --template, the first ARCH, OS and VARIANT are replaced by each platform's parts \
            (VARIANT by nothing when the platform has none): --platforms linux/amd64,linux/arm64 \
            --template reg.example/app:1.0-ARCH reads reg.example/app:1.0-amd64 and :1.0-arm64.
            """)

    @Option(name: .customLong("platforms"), help: "Comma-separated os/arch[/variant] list.") var platforms: String
    @Option(name: .customLong("template"), help: "Source image name with OS, ARCH and VARIANT placeholders.") var template: String
    @Option(name: .customLong("target"), help: "The index to push (registry/repository:tag).") var target: String
    @Option(name: .customLong("tags"), help: "Further tags for the index, comma-separated.") var tags: String?
    @OptionGroup(title: "Push") var push: ManifestPushFlags
    @OptionGroup(title: "Credentials") var access: ManifestAccessFlags
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup(title: "Logging and plugins") var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let spec = try ManifestCommands.usage {
            try ManifestSpec.fromArguments(platforms: platforms, template: template, target: target, tags: tags)
        }
        try await ManifestCommands.push(spec, push: push, access: access, registry: registry, global: global)
    }
}

/// `kiln manifest push from-spec`.
struct ManifestPushFromSpec: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        commandName: "from-spec", abstract: "Merge the images a manifest-tool YAML spec lists into an index.")

    @Argument(help: "manifest-tool's YAML: image, tags, manifests (image, platform).") var spec: String
    @OptionGroup(title: "Push") var push: ManifestPushFlags
    @OptionGroup(title: "Credentials") var access: ManifestAccessFlags
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup(title: "Logging and plugins") var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let text: String
        do { text = try String(contentsOfFile: spec, encoding: .utf8) } catch {
            throw KilnError.usage("cannot read \(spec): \(error)")
        }
        let parsed = try ManifestCommands.usage { try ManifestSpec.fromYAML(text, fileName: spec) }
        try await ManifestCommands.push(parsed, push: push, access: access, registry: registry, global: global)
    }
}

/// What the push commands share.
enum ManifestCommands {
    /// Runs `body`, turning ManifestTool's input errors into usage errors (exit 2).
    static func usage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ManifestToolError { throw converted(error) }
    }

    static func converted(_ error: ManifestToolError) -> KilnError {
        // A usage error's text is the whole message: as a cause it would print twice.
        error.isUsage ? KilnError.usage(error.description) : KilnError(.failed, "kiln manifest", cause: error)
    }

    static func push(
        _ spec: ManifestSpec, push: ManifestPushFlags, access: ManifestAccessFlags, registry: RegistryFlags, global: GlobalFlags
    ) async throws {
        let options = try push.options()
        let hosts = [spec.target.registry] + spec.sources.map(\.image.registry)
        let session = try ManifestSession.open(access: access, registry: registry, global: global, hosts: hosts)
        defer { session.close() }
        let pusher = ManifestPusher(client: session.client, workDirectory: session.workDirectory, log: session.sink)
        let result: ManifestPusher.Result
        do { result = try await pusher.push(spec, options: options) } catch let error as ManifestToolError { throw converted(error) }
        for entry in result.entries {
            let what = entry.isAttestation ? "attestation" : entry.platform?.description ?? "unknown platform"
            session.log.info("\(result.reference): \(what) \(entry.digest)")
        }
        let tags = [result.reference.tag ?? ""] + spec.tags.filter { $0 != result.reference.tag }
        session.log.info("pushed \(result.mediaType) \(result.reference.name):\(tags.joined(separator: ",")) (\(result.size) bytes)")
        print(result.digest.description)
    }
}
