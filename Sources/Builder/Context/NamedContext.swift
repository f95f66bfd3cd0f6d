import Archive
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport

/// A `--build-context name=VALUE` (BuildKit's named contexts): `FROM name` and
/// `COPY --from=name` use it instead of the stage or image of that name.
public enum NamedContext: Sendable, Hashable {
    /// A local directory (also what a git or http(s) value becomes once fetched).
    case directory(String)
    /// `docker-image://REF`: an image from a registry.
    case image(String)
    /// `oci-layout://PATH[:TAG|@DIGEST]`: an image in an OCI image layout.
    case layout(path: String, tag: String?, digest: String?)
    /// A git repository or an http(s) tarball, fetched into a directory before the build.
    case remote(String)

    /// Parses the part after `name=`.
    public init(parsing value: String) throws {
        if value.hasPrefix("docker-image://") {
            let ref = String(value.dropFirst("docker-image://".count))
            guard !ref.isEmpty else { throw KilnError.usage("--build-context docker-image:// needs an image reference") }
            self = .image(ref)
        } else if value.hasPrefix("oci-layout://") {
            var path = String(value.dropFirst("oci-layout://".count))
            var tag: String?
            var digest: String?
            if let at = path.lastIndex(of: "@") {
                digest = String(path[path.index(after: at)...])
                path = String(path[..<at])
            } else if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
                tag = String(path[path.index(after: colon)...])
                path = String(path[..<colon])
            }
            guard !path.isEmpty else { throw KilnError.usage("--build-context oci-layout:// needs a path") }
            if let digest, (try? Digest(parsing: digest)) == nil {
                throw KilnError.usage("--build-context oci-layout://\(path)@\(digest): '\(digest)' is not a digest")
            }
            self = .layout(path: BuildContext.absolute(path), tag: tag, digest: digest)
        } else if GitSource.isGit(value) || value.hasPrefix("http://") || value.hasPrefix("https://") {
            self = .remote(value)
        } else if value.contains("://") {
            throw KilnError.usage(
                "--build-context \(redactingURLCredentials(value)): kiln takes a directory, docker-image://REF, "
                    + "oci-layout://PATH[:TAG|@DIGEST], a git URL or an http(s):// tarball")
        } else {
            self = .directory(BuildContext.absolute(value))
        }
    }

    /// Parses `name=value`.
    public static func parse(flag text: String) throws -> (String, NamedContext) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw KilnError.usage("--build-context needs name=value, got '\(redactingURLCredentials(text))'")
        }
        return (String(text[..<eq]), try NamedContext(parsing: String(text[text.index(after: eq)...])))
    }

    /// The named contexts with remote ones fetched into directories under `workDirectory`.
    static func resolveAll(_ source: SourceOptions, workDirectory: String, userAgent: String, log: BuildLog) async throws
        -> [String: NamedContext]
    {
        var out = source.namedContexts
        for (name, context) in source.namedContexts.sorted(by: { $0.key < $1.key }) {
            switch context {
            case .remote(let value):
                let directory =
                    workDirectory + "/named-" + String(name.unicodeScalars.map { $0.isASCII && $0 != "/" ? Character($0) : "_" })
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                var options = SourceOptions(context: value)
                options.environment = source.environment
                let fetched = try await RemoteContext.resolve(
                    options, git: GitCheckout.Options(), workDirectory: directory, userAgent: userAgent, log: log)
                out[name] = .directory(fetched.context)
            case .directory(let path):
                var isDir = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir else {
                    throw KilnError(.notFound, "--build-context \(name)=\(path): no such directory")
                }
            case .image, .layout: break
            }
        }
        return out
    }

    /// The named context `FROM name` or `COPY --from=name` means, if any (stage and image names
    /// match without regard to case, as stage names do).
    static func lookup(_ name: String, in contexts: [String: NamedContext]) -> NamedContext? {
        contexts[name] ?? contexts.first(where: { $0.key.lowercased() == name.lowercased() })?.value
    }
}

extension BaseImages {
    /// A stage that starts from a named context: a directory's files on an empty config, or an
    /// image from a registry or an OCI layout.
    func start(from context: NamedContext, name: String, stage: Stage, root: BuildRoot) async throws -> StageState {
        let platform = session.platform(ofStage: stage.index)
        var config = ImageConfig(platform: platform)
        var layers: [Layer] = []
        var format = ManifestFormat.oci
        switch context {
        case .directory(let path), .remote(let path):
            do {
                try await runBlocking { try FileCopier(root: root, owner: nil, chmod: nil).copyContents(ofDirectory: path, into: "") }
            } catch {
                throw KilnError.at(stage.from.location, "copying the build context '\(name)'", cause: error)
            }
        case .image, .layout:
            let image = try loadImage(context, name: name, platform: platform, location: stage.from.location)
            try await extract(layers: image.layers, named: "build context '\(name)'", into: root)
            config = image.config
            layers = image.layers
            format = image.format
        }
        var container = config.config ?? ContainerConfig()
        if !(container.env ?? []).contains(where: { $0.hasPrefix("PATH=") }) {
            container.env = (container.env ?? []) + ["PATH=\(Self.defaultPath)"]
        }
        config.config = container
        var state = StageState(config: config, layers: layers, format: format, arguments: session.stageArguments())
        if let shell = container.shell, !shell.isEmpty { state.shell = shell }
        return state
    }

    /// The files `COPY --from=name` reads from a named context.
    func tree(of context: NamedContext, name: String, location: SourceLocation) async throws -> BuildContext {
        switch context {
        case .directory(let path), .remote(let path): return BuildContext(directory: path, ignore: nil)
        case .image(let ref): return BuildContext(directory: try await rootForCopy(ref, location: location).path, ignore: nil)
        case .layout:
            let image = try loadImage(context, name: name, platform: session.options.platform, location: location)
            let root = BuildRoot(path: session.workDirectory + "/roots/context-\(image.digest.encoded)")
            // Stages building at the same time that copy from it extract it once.
            let images = self
            try await InFlightWork.shared.run(root.path) {
                guard !FileManager.default.fileExists(atPath: root.path + ".complete") else { return }
                try? removeTree(root.path)
                try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true)
                try await images.extract(layers: image.layers, named: "build context '\(name)'", into: root, ignoring: IgnoreList())
                markComplete(root)
            }
            return BuildContext(directory: root.path, ignore: nil)
        }
    }

    /// An image of a named context, its blobs in the session's store. A registry image is pulled.
    private func loadImage(_ context: NamedContext, name: String, platform: Platform, location: SourceLocation) throws -> Image {
        guard case .layout(let path, let tag, let digest) = context else {
            throw KilnError(.internal, "build context '\(name)' is not an OCI layout")
        }
        do {
            let reader = try OCILayoutReader(path: path)
            var descriptor: Descriptor
            if let digest {
                let wanted = try Digest(parsing: digest)
                let bytes = try reader.store.read(wanted)
                if CanonicalJSON.mediaType(of: bytes)?.isIndex == true {
                    let index = try CanonicalJSON.decode(ImageIndex.self, from: bytes)
                    guard let chosen = index.manifest(for: platform) else {
                        throw OCILayoutReader.Error.noPlatform(platform, path: path)
                    }
                    descriptor = chosen
                } else {
                    descriptor = Descriptor(mediaType: .ociManifest, digest: wanted, size: Int64(bytes.count))
                }
            } else {
                descriptor = try reader.manifestDescriptor(refName: tag, platform: platform)
            }
            let image = try Image.load(manifest: descriptor.digest, from: reader.store)
            for blob in image.blobDigests where !session.store.contains(blob) {
                let source = reader.store.path(for: blob)
                let target = session.store.path(for: blob)
                if link(source, target) != 0 && errno != EEXIST { try FileManager.default.copyItem(atPath: source, toPath: target) }
            }
            return try Image.load(manifest: descriptor.digest, from: session.store)
        } catch {
            throw KilnError.at(location, "build context '\(name)' (oci-layout://\(path))", cause: error, fallback: .invalidInput)
        }
    }
}
