import ArgumentParser
import Diagnostics
import ImageStore
import PluginAPI

/// `kiln validate`: checks that an image's digests, sizes, diff IDs and config agree.
struct Validate: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image in an OCI layout: digests, sizes, diff IDs, history and config agree.")

    @Argument(help: "OCI layout directory, optionally with :ref (e.g. out/hello:latest).")
    var layout: String

    func run() async throws { try await execute() }

    func execute() async throws {
        var path = layout
        var ref: String?
        if let colon = layout.lastIndex(of: ":"), !layout[colon...].contains("/") {
            path = String(layout[..<colon])
            ref = String(layout[layout.index(after: colon)...])
        }
        do {
            try await ImageValidator.validate(layoutPath: path, refName: ref)
        } catch {
            throw KilnError(.invalidInput, "", cause: error)
        }
        print("ok: \(layout)")
    }
}
