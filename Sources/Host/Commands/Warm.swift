import ArgumentParser
import Builder

/// `kiln warm`: kaniko's warmer (fills the base-image cache).
struct Warm: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(abstract: "Download base images into --cache-dir (kaniko's warmer).")

    @Option(name: [.short, .customLong("image")], help: "Image to cache; repeatable.") var images: [String] = []
    @Option(name: [.short, .customLong("dockerfile")], help: "Cache every FROM image of this Dockerfile.") var dockerfile: String?
    @Option(name: [.short, .customLong("cache-dir")], help: "Cache directory.") var cacheDir = "/cache"
    @OptionGroup var global: GlobalFlags

    func run() async throws { try await execute() }

    func execute() async throws {
        throw BuildError.notAvailableYet("kiln warm (the base-image cache)")
    }
}
