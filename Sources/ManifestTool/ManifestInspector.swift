// `kiln manifest inspect`: what a reference names, as a table (manifest-tool's `inspect`
// shows the same facts: type, digest, and per entry its platform and layers).
import FoundationEssentials
import ImageModel
import PluginAPI
import PluginSupport

/// What a reference names: an index with its entries, or a single image.
public struct Inspection: Sendable {
    /// One image (an index entry, or the reference itself).
    public struct Image: Sendable {
        public var descriptor: Descriptor
        /// The platform the index states, else the config's.
        public var platform: Platform?
        /// Nil for entries that could not be read (e.g. not in the repository).
        public var layers: [Descriptor]?
        /// Config plus layers, as stored (compressed); nil when unread.
        public var size: Int64?
        /// For attestation manifests: the image they describe.
        public var describes: String?
    }

    public var reference: ImageReference
    public var manifest: FetchedManifest
    /// The entries of an index; the one image of a manifest.
    public var images: [Image]
    public var isIndex: Bool { manifest.mediaType.isIndex }
}

/// Reads a reference for `kiln manifest inspect`.
public struct ManifestInspector: Sendable {
    let client: any RegistryClient
    let copier: RepositoryCopier

    /// - Parameter workDirectory: an existing directory for the configs read.
    public init(client: any RegistryClient, workDirectory: String) {
        self.client = client
        self.copier = RepositoryCopier(client: client, workDirectory: workDirectory, log: { _, _ in })
    }

    /// The manifest as the registry serves it (`--raw`).
    public func raw(_ reference: ImageReference) async throws -> FetchedManifest {
        try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
    }

    /// The reference and, for an index, each entry's manifest.
    public func inspect(_ reference: ImageReference) async throws -> Inspection {
        let fetched = try await raw(reference)
        if fetched.mediaType.isIndex {
            let index = try CanonicalJSON.decode(ImageIndex.self, from: fetched.bytes)
            var images: [Inspection.Image] = []
            for entry in index.manifests {
                var image = Inspection.Image(descriptor: entry, platform: entry.platform)
                if entry.isAttestation { image.describes = entry.annotations?[Descriptor.referenceDigestAnnotation] }
                if entry.mediaType.isImageManifest || entry.isAttestation,
                    let child = try? await client.fetchManifest(reference.with(digest: entry.digest), accept: [entry.mediaType]),
                    let manifest = try? CanonicalJSON.decode(Manifest.self, from: child.bytes)
                {
                    image.layers = manifest.layers
                    image.size = manifest.layers.reduce(manifest.config.size) { $0 + $1.size }
                }
                images.append(image)
            }
            return Inspection(reference: reference, manifest: fetched, images: images)
        }
        let manifest: Manifest
        do { manifest = try CanonicalJSON.decode(Manifest.self, from: fetched.bytes) } catch {
            throw ManifestToolError.unsupportedSource(reference, "\(fetched.mediaType) is not an image manifest or an index")
        }
        let platform = try? await copier.readConfig(manifest.config, from: reference)
        let size = manifest.layers.reduce(manifest.config.size) { $0 + $1.size }
        let image = Inspection.Image(descriptor: fetched.descriptor, platform: platform, layers: manifest.layers, size: size)
        return Inspection(reference: reference, manifest: fetched, images: [image])
    }
}

extension Inspection {
    /// The readable form: a header, then one row per entry (an index) or per layer (an image).
    public func render() -> String {
        var out = [
            "Name:      \(reference)",
            "MediaType: \(manifest.mediaType)",
            "Digest:    \(manifest.digest)",
            "Size:      \(manifest.bytes.count)",
        ]
        if isIndex {
            out.append("Entries:   \(images.count)")
            out.append("")
            var rows = [["#", "PLATFORM", "TYPE", "DIGEST", "LAYERS", "SIZE"]]
            for (i, image) in images.enumerated() {
                let platform = image.describes != nil ? "attestation" : image.platform?.description ?? "-"
                let layers = image.layers.map { String($0.count) } ?? "?"
                let size = image.size.map(Self.bytes) ?? "?"
                rows.append([
                    String(i + 1), platform, Self.short(image.descriptor.mediaType), image.descriptor.digest.description, layers, size,
                ])
            }
            out += Self.table(rows)
            for (i, image) in images.enumerated() {
                if let target = image.describes { out.append("#\(i + 1) describes \(target)") }
            }
        } else if let image = images.first {
            out.append("Platform:  \(image.platform?.description ?? "unknown (config unreadable)")")
            if let size = image.size { out.append("ImageSize: \(Self.bytes(size)) (config and layers, compressed)") }
            out.append("")
            var rows = [["#", "LAYER", "TYPE", "SIZE"]]
            for (i, layer) in (image.layers ?? []).enumerated() {
                rows.append([String(i + 1), layer.digest.description, Self.short(layer.mediaType), Self.bytes(layer.size)])
            }
            out += Self.table(rows)
        }
        return out.joined(separator: "\n")
    }

    /// Columns padded to their widest cell, two spaces apart, the last one unpadded.
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == columns - 1 ? cell : cell.padded(to: widths[c]) }
                .joined(separator: "  ")
        }
    }

    /// The media type without its common prefix (`oci manifest`, `docker manifest`, `oci layer+gzip`).
    static func short(_ type: MediaType) -> String {
        switch type {
        case .ociManifest: return "oci manifest"
        case .dockerManifest: return "docker manifest"
        case .ociIndex: return "oci index"
        case .dockerManifestList: return "docker list"
        case .ociLayer: return "oci layer"
        case .ociLayerGzip: return "oci layer+gzip"
        case .ociLayerZstd: return "oci layer+zstd"
        case .dockerLayerGzip: return "docker layer+gzip"
        case .dockerLayer: return "docker layer"
        default: return type.rawValue
        }
    }

    /// Sizes as people read them: bytes below 1 KiB, else KiB/MiB/GiB with one decimal.
    static func bytes(_ n: Int64) -> String {
        if n < 1024 { return "\(n) B" }
        var value = Double(n) / 1024
        for unit in ["KiB", "MiB", "GiB"] {
            if value < 1024 || unit == "GiB" { return String(cFormat: "%.1f", value) + " " + unit }
            value /= 1024
        }
        return "\(n) B"
    }
}
