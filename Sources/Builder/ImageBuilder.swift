import PluginAPI
import PluginHost

/// What a build produced.
public struct BuildResult: Sendable {
    public var digest: Digest
}

/// Builds the Dockerfile the options name and writes or pushes the image.
public struct ImageBuilder: Sendable {
    public var options: BuildOptions
    public var plugins: PluginSet
    public var log: BuildLog

    public init(options: BuildOptions, plugins: PluginSet, log: BuildLog) {
        self.options = options
        self.plugins = plugins
        self.log = log
    }

    public func run() async throws -> BuildResult {
        throw BuildError.notAvailableYet("building")
    }
}
