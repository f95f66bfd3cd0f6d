import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import ImageStore
import PluginAPI
import SystemCalls

/// `kiln warm`: kaniko's warmer. Pulls images (named, or every FROM of a Dockerfile) into the
/// base-image cache that builds read with `--cache-dir`.
public struct Warmer: Sendable {
    /// Where to pull from and the cache to fill (`cacheDirectory` is required).
    public var options: BaseImageOptions
    public var platform: Platform
    public var components: BuildComponents
    public var log: BuildLog
    /// Re-download even when a fresh entry is cached.
    public var force: Bool

    public init(options: BaseImageOptions, platform: Platform, components: BuildComponents, log: BuildLog, force: Bool) {
        self.options = options
        self.platform = platform
        self.components = components
        self.log = log
        self.force = force
    }

    /// The images a Dockerfile's stages start from (stage references and `scratch` excluded).
    public static func baseImages(ofDockerfile text: String, fileName: String, source: SourceOptions, platform: Platform) throws
        -> [ImageReference]
    {
        let dockerfile: Dockerfile
        do { dockerfile = try Dockerfile.parse(text, fileName: fileName) } catch let error as DockerfileError {
            throw KilnError.dockerfile(error)
        }
        let (plan, bases) = try ImageBuilder.plan(dockerfile, source: source, platform: platform, allStages: true)
        var out: [ImageReference] = []
        for index in plan.stagesToBuild {
            if case .image(let ref) = bases[index], !out.contains(ref) { out.append(ref) }
        }
        return out
    }

    /// Caches every image; fails only when all of them failed (kaniko's rule).
    public func warm(_ images: [ImageReference]) async throws {
        guard let cacheDirectory = options.cacheDirectory else { throw KilnError.usage("kiln warm needs --cache-dir") }
        do { try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true) } catch {
            throw KilnError.wrapping(error, "cannot create the cache directory \(cacheDirectory)")
        }
        var template = Array((cacheDirectory + "/.warm-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            let code = errno
            throw KilnError(
                KilnError.code(errno: code), "cannot create a directory under \(cacheDirectory)",
                cause: SystemCallError(call: "mkdtemp", subject: cacheDirectory, code: code))
        }
        let work = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store: BlobStore
        do { store = try BlobStore(root: work + "/store") } catch {
            throw KilnError.wrapping(error, "cannot create a blob store in \(work)")
        }
        var pullOptions = options
        if force { pullOptions.cacheTTL = -1 }
        let puller = ImagePuller(components: components, options: pullOptions, log: log, store: store, workDirectory: work)
        var failures: [PullFailure] = []
        for image in images {
            do {
                // Long pulls show progress, as in a build.
                let observer: (any TransferObserver)? = log.progress
                let pulled = try await TransferProgress.$observer.withValue(observer) {
                    try await puller.pull(image, platform: platform, location: nil)
                }
                log.info("warmed \(image) (\(pulled.manifestDigest))")
            } catch {
                failures.append(PullFailure(candidate: image, error: error))
                log.warning("could not warm \(image): \(error)")
            }
        }
        if !images.isEmpty && failures.count == images.count {
            throw KilnError(.network, "no image could be cached", cause: PullFailures(failures: failures))
        }
    }
}
