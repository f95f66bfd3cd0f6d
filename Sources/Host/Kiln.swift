import ArgumentParser

struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Build container images from a Dockerfile, without a daemon.",
        discussion: """
            With no subcommand, kiln behaves as kaniko's executor: it builds the Dockerfile in the \
            context and pushes the image to each --destination (or writes it to --oci-layout-path or \
            --tar-path). With no destination at all it writes an OCI layout to ./kiln-out.
            """,
        version: KilnVersion.current,
        subcommands: [
            Build.self, Plugins.self, Warm.self, Validate.self, ManifestCommand.self, CITagCommand.self, Version.self,
        ],
        defaultSubcommand: Build.self
    )
}

enum KilnVersion {
    static let current = "0.1.0"
}
