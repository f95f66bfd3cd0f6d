import ImageModel
import PluginAPI
import SystemCalls

/// Reads images from an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
public struct OCILayoutReader: Sendable {
    public let path: String
    /// The layout's `blobs/`.
    public let store: BlobStore

    public enum Error: Swift.Error, CustomStringConvertible, Sendable, Hashable {
        case notALayout(path: String)
        case unsupportedVersion(String, path: String)
        case malformedIndex(path: String, reason: String)
        case noSuchRef(String, path: String, available: [String])
        case ambiguous(path: String, count: Int, available: [String])
        case empty(path: String)
        case noPlatform(Platform, path: String)

        public var description: String {
            switch self {
            case .notALayout(let path):
                return "\(path) is not an OCI image layout: it has no oci-layout or index.json file"
            case .unsupportedVersion(let version, let path):
                return "\(path) is an OCI layout of version \(version); only 1.0.0 is supported"
            case .malformedIndex(let path, let reason):
                return "\(path)/index.json is not a valid image index: \(reason)"
            case .noSuchRef(let name, let path, let available):
                return "no image named '\(name)' in the OCI layout \(path); it has \(Self.list(available))"
            case .ambiguous(let path, let count, let available):
                return "the OCI layout \(path) holds \(count) images; name one (\(Self.list(available)))"
            case .empty(let path):
                return "the OCI layout \(path) holds no image"
            case .noPlatform(let platform, let path):
                return "the image index in the OCI layout \(path) has no manifest for \(platform)"
            }
        }

        private static func list(_ names: [String]) -> String {
            names.isEmpty ? "no ref names" : "ref names " + names.map { "'\($0)'" }.joined(separator: ", ")
        }
    }

    /// Opens the layout at `path`. Throws `Error.notALayout` or `Error.unsupportedVersion`.
    public init(path: String) throws {
        self.path = path
        guard FileIO.exists(path + "/oci-layout"), FileIO.exists(path + "/index.json") else {
            throw Error.notALayout(path: path)
        }
        struct Header: Decodable { var imageLayoutVersion: String }
        let header = try? CanonicalJSON.decode(Header.self, from: FileIO.readAll(path + "/oci-layout"))
        guard let version = header?.imageLayoutVersion else { throw Error.notALayout(path: path) }
        guard version == "1.0.0" else { throw Error.unsupportedVersion(version, path: path) }
        self.store = try BlobStore(root: path)
    }

    /// The layout's `index.json`.
    public func index() throws -> ImageIndex {
        do { return try CanonicalJSON.decode(ImageIndex.self, from: FileIO.readAll(path + "/index.json")) } catch let
            error as SystemCallError
        {
            throw error
        } catch {
            throw Error.malformedIndex(path: path, reason: "\(error)")
        }
    }

    /// The manifest descriptor named `refName` (its `org.opencontainers.image.ref.name`), or the
    /// only entry when `refName` is nil. An entry that is itself an index is resolved to the
    /// manifest for `platform` (the host's when nil).
    public func manifestDescriptor(refName: String? = nil, platform: Platform? = nil) throws -> Descriptor {
        let entries = try index().manifests
        let names = entries.compactMap { $0.annotations?[AnnotationKey.refName] }
        var chosen: Descriptor
        if let refName {
            guard let match = entries.first(where: { $0.annotations?[AnnotationKey.refName] == refName }) else {
                throw Error.noSuchRef(refName, path: path, available: names)
            }
            chosen = match
        } else {
            guard let only = entries.first else { throw Error.empty(path: path) }
            guard entries.count == 1 else { throw Error.ambiguous(path: path, count: entries.count, available: names) }
            chosen = only
        }
        // Nested indexes are allowed by the spec; follow them down to an image manifest.
        var depth = 0
        while chosen.mediaType.isIndex, depth < 8 {
            let nested: ImageIndex
            do { nested = try CanonicalJSON.decode(ImageIndex.self, from: store.read(chosen.digest)) } catch let error
                as BlobStore.Error
            {
                throw error
            } catch {
                throw Error.malformedIndex(path: store.path(for: chosen.digest), reason: "\(error)")
            }
            let wanted = platform ?? .host
            guard let match = nested.manifest(for: wanted) else { throw Error.noPlatform(wanted, path: path) }
            chosen = match
            depth += 1
        }
        return chosen
    }

    /// The image named `refName` (or the only one), read from the layout's blobs.
    public func image(refName: String? = nil, platform: Platform? = nil) throws -> Image {
        try Image.load(manifest: manifestDescriptor(refName: refName, platform: platform).digest, from: store)
    }
}
