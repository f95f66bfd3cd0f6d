import ImageModel
import PluginAPI
import PluginSupport

extension ImageValidator {
    /// The config fields the validator reads, all optional so a broken config yields problems
    /// rather than a decoding error.
    private struct ConfigProbe: Decodable {
        struct RootFSProbe: Decodable {
            var type: String?
            var diffIDs: [Digest]?

            enum CodingKeys: String, CodingKey {
                case type
                case diffIDs = "diff_ids"
            }
        }
        var architecture: String?
        var os: String?
        var rootfs: RootFSProbe?
        var history: [History]?
    }

    static func mediaTypeProblems(_ manifest: Manifest) -> [ValidationProblem] {
        var problems = [ValidationProblem]()
        let type = manifest.mediaType ?? .ociManifest
        guard type.isImageManifest else {
            return [ValidationProblem(.mediaType, "manifest media type \(type) is not an image manifest type")]
        }
        if manifest.schemaVersion != 2 {
            problems.append(
                ValidationProblem(.malformed, "manifest schemaVersion is \(manifest.schemaVersion), expected 2"))
        }
        let format = ManifestFormat(manifestMediaType: type)
        if manifest.config.mediaType != format.configMediaType {
            problems.append(
                ValidationProblem(
                    .mediaType,
                    "config media type \(manifest.config.mediaType) does not belong in a \(type) manifest (expected \(format.configMediaType))"
                ))
        }
        for (index, layer) in manifest.layers.enumerated() {
            let name = "layer \(index) (\(layer.digest))"
            guard layer.mediaType.layerCompression != nil else {
                problems.append(
                    ValidationProblem(.mediaType, "\(name) has unknown layer media type \(layer.mediaType)"))
                continue
            }
            if layer.mediaType.isDocker != (format == .docker) {
                problems.append(
                    ValidationProblem(
                        .mediaType,
                        "\(name) has media type \(layer.mediaType), from the other family than its \(type) manifest"))
            }
        }
        return problems
    }

    /// Missing blob, wrong size, wrong digest, checked by streaming the blob once.
    static func blobProblems(_ descriptor: Descriptor, what: String, store: BlobStore) async -> [ValidationProblem] {
        let path = store.path(for: descriptor.digest)
        guard FileIO.exists(path) else {
            return [
                ValidationProblem(.missingBlob, "\(what) blob \(descriptor.digest) is missing (expected at \(path))")
            ]
        }
        do {
            let (digest, size) = try await runBlocking { try FileIO.digestAndSize(of: path) }
            return sizeAndDigestProblems(descriptor, what: what, digest: digest, size: size)
        } catch {
            return [ValidationProblem(.unreadableLayer, "\(what) blob \(descriptor.digest) cannot be read: \(error)")]
        }
    }

    static func sizeAndDigestProblems(_ descriptor: Descriptor, what: String, digest: Digest, size: Int64)
        -> [ValidationProblem]
    {
        var problems = [ValidationProblem]()
        if size != descriptor.size {
            problems.append(
                ValidationProblem(
                    .sizeMismatch,
                    "\(what) \(descriptor.digest): descriptor size is \(descriptor.size) but the blob has \(size) bytes"
                ))
        }
        if digest != descriptor.digest {
            problems.append(
                ValidationProblem(
                    .digestMismatch,
                    "\(what) \(descriptor.digest): the blob's content hashes to \(digest); it was changed or corrupted")
            )
        }
        return problems
    }

    /// Problems of the config itself, and its diff IDs for the layer checks (nil when unreadable).
    static func configProblems(manifest: Manifest, store: BlobStore) -> ([ValidationProblem], [Digest]?) {
        do {
            return configProblems(
                configBytes: try store.read(manifest.config.digest), name: "config \(manifest.config.digest)",
                layerCount: manifest.layers.count)
        } catch {
            return (
                [ValidationProblem(.unreadableLayer, "config \(manifest.config.digest) cannot be read: \(error)")], nil
            )
        }
    }

    /// `os`, `architecture`, `rootfs` and `history` of a config against the number of layers.
    static func configProblems(configBytes: [UInt8], name: String, layerCount: Int) -> ([ValidationProblem], [Digest]?) {
        let probe: ConfigProbe
        do { probe = try CanonicalJSON.decode(ConfigProbe.self, from: configBytes) } catch {
            return ([ValidationProblem(.malformed, "\(name) is not a valid image config: \(error)")], nil)
        }
        var problems = [ValidationProblem]()
        if (probe.os ?? "").isEmpty {
            problems.append(ValidationProblem(.config, "config has no \"os\"; it is required"))
        }
        if (probe.architecture ?? "").isEmpty {
            problems.append(ValidationProblem(.config, "config has no \"architecture\"; it is required"))
        }
        if probe.rootfs?.type != "layers" {
            let found = probe.rootfs?.type.map { "\"\($0)\"" } ?? "missing"
            problems.append(ValidationProblem(.config, "config rootfs.type is \(found), expected \"layers\""))
        }
        let diffIDs = probe.rootfs?.diffIDs ?? []
        if diffIDs.count != layerCount {
            problems.append(
                ValidationProblem(
                    .diffIDCount,
                    "config rootfs.diff_ids has \(diffIDs.count) entries but the manifest has \(layerCount) layers"))
        }
        if let history = probe.history {
            let nonEmpty = history.filter { $0.emptyLayer != true }.count
            if nonEmpty != layerCount {
                problems.append(
                    ValidationProblem(
                        .historyCount,
                        "config history has \(nonEmpty) entries without empty_layer but the manifest has \(layerCount) layers"
                    ))
            }
        }
        return (problems, diffIDs)
    }

    /// Size, digest and diff ID of one layer, in a single streaming pass.
    static func layerProblems(_ layer: Descriptor, index: Int, diffID: Digest?, store: BlobStore) async
        -> [ValidationProblem]
    {
        let name = "layer \(index)"
        let path = store.path(for: layer.digest)
        guard FileIO.exists(path) else {
            return [ValidationProblem(.missingBlob, "\(name) blob \(layer.digest) is missing (expected at \(path))")]
        }
        guard let compression = layer.mediaType.layerCompression else {
            return await blobProblems(layer, what: name, store: store)
        }
        let scan: LayerScan
        do {
            scan = try await runBlocking { try LayerScan.scan(path: path, compression: compression) }
        } catch {
            // Still say whether the blob itself is intact: that tells corruption from mislabelling.
            return await blobProblems(layer, what: name, store: store)
                + [
                    ValidationProblem(
                        .unreadableLayer,
                        "\(name) \(layer.digest) cannot be decompressed as \(layer.mediaType): \(error)")
                ]
        }
        var problems = sizeAndDigestProblems(layer, what: name, digest: scan.digest, size: scan.size)
        if let diffID, diffID != scan.diffID {
            problems.append(
                ValidationProblem(
                    .diffIDMismatch,
                    "\(name) \(layer.digest): config diff ID is \(diffID) but the decompressed layer hashes to \(scan.diffID)"
                ))
        }
        return problems
    }
}
