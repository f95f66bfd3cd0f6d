import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import ManifestTool
import PluginAPI
import PluginSupport

/// `kiln manifest inspect`: an index's entries (platform, type, digest, layers) or an image's layers.
struct ManifestInspect: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show what a reference names: an index's entries, or an image's layers.")

    @Argument(help: "registry/repository:tag or @digest.") var reference: String
    @Flag(name: .customLong("raw"), help: "Print the manifest or index exactly as the registry serves it.") var raw = false
    @OptionGroup(title: "Credentials") var access: ManifestAccessFlags
    @OptionGroup(title: "Registries") var registry: RegistryFlags
    @OptionGroup(title: "Logging and plugins") var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        let ref: ImageReference
        do { ref = try ImageReference(parsing: reference) } catch { throw KilnError.usage("\(reference): \(error)") }
        // manifest-tool refuses an implicit `latest`; kiln, like docker, reads `latest`.
        let session = try ManifestSession.open(access: access, registry: registry, global: global, hosts: [ref.registry])
        defer { session.close() }
        let inspector = ManifestInspector(client: session.client, workDirectory: session.workDirectory)
        if raw {
            let fetched = try await inspector.raw(ref)
            writeAll(1, fetched.bytes)
            if fetched.bytes.last != UInt8(ascii: "\n") { print("") }
            return
        }
        do {
            print(try await inspector.inspect(ref).render())
        } catch let error as ManifestToolError {
            throw ManifestCommands.converted(error)
        }
    }
}
