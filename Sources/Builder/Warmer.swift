import Dockerfile
import Foundation
import ImageStore
import PluginAPI
import PluginHost

/// `kiln warm`: kaniko's warmer. Pulls images (named, or every FROM of a Dockerfile) into the
/// base-image cache that builds read with `--cache-dir`.
public struct Warmer: Sendable {
    public var options: BuildOptions
    public var plugins: PluginSet
    public var log: BuildLog
    /// Re-download even when a fresh entry is cached.
    public var force: Bool

    public init(options: BuildOptions, plugins: PluginSet, log: BuildLog, force: Bool) {
        self.options = options
        self.plugins = plugins
        self.log = log
        self.force = force
    }

    /// The images a Dockerfile's stages start from (stage references and `scratch` excluded).
    public static func baseImages(ofDockerfile text: String, fileName: String, options: BuildOptions) throws -> [ImageReference] {
        let dockerfile: Dockerfile
        do { dockerfile = try Dockerfile.parse(text, fileName: fileName) } catch { throw BuildError.failed("\(error)") }
        var all = options
        all.skipUnusedStages = false
        all.target = nil
        let plan = try BuildPlan(dockerfile: dockerfile, options: all)
        var out: [ImageReference] = []
        for index in plan.stagesToBuild {
            if case .image(let ref) = plan.bases[index], !out.contains(ref) { out.append(ref) }
        }
        return out
    }

    /// Caches every image; fails only when all of them failed (kaniko's rule).
    public func warm(_ images: [ImageReference]) async throws {
        guard let cacheDirectory = options.cacheDirectory else { throw BuildError.usage("kiln warm needs --cache-dir") }
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        var template = Array((cacheDirectory + "/.warm-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw BuildError.failed("cannot create a directory under \(cacheDirectory)") }
        let work = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = try BlobStore(root: work + "/store")
        var pullOptions = options
        if force { pullOptions.cacheTTL = -1 }
        let puller = ImagePuller(plugins: plugins, options: pullOptions, log: log, store: store, workDirectory: work)
        var failures: [String] = []
        for image in images {
            do {
                let pulled = try await puller.pull(image, platform: options.targetPlatform, location: nil)
                log.info("warmed \(image) (\(pulled.manifestDigest))")
            } catch {
                failures.append("\(image): \(error)")
                log.warning("could not warm \(image): \(error)")
            }
        }
        if !images.isEmpty && failures.count == images.count {
            throw BuildError.failed("no image could be cached: " + failures.joined(separator: "; "))
        }
    }
}
