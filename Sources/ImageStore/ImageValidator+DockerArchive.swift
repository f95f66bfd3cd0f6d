import Archive
import CArchive
import ImageModel
import PluginAPI
import PluginSupport

extension ImageValidator {
    /// Validates a docker-archive tarball (what `DockerArchiveWriter` and `docker save` write):
    /// for every image in `manifest.json`, the config file is named by its own digest, its
    /// `os`, `architecture`, `rootfs` and history agree with the layer list, and each layer file
    /// hashes to its diff ID (layers must be stored uncompressed, as kiln and Docker write them).
    /// Reads the tarball once, streaming. Throws `ValidationError` listing every problem, or an
    /// error naming the tarball when it is not a readable tar.
    public static func validate(dockerArchive path: String) async throws {
        let found = try await runBlocking { try dockerArchiveProblems(path) }
        if !found.isEmpty { throw ValidationError(problems: found, subject: "docker-archive:\(path)") }
    }

    /// One image of `manifest.json`.
    private struct ArchiveImage: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    /// What one pass over the tarball learns: each file's digest, and the small JSON files whole.
    private struct ArchiveContents {
        var digests = [String: Digest]()
        var smallFiles = [String: [UInt8]]()
    }

    static func dockerArchiveProblems(_ path: String) throws -> [ValidationProblem] {
        let contents = try readArchive(path)
        guard let manifestBytes = contents.smallFiles["manifest.json"] else {
            return [ValidationProblem(.missingBlob, "the tarball has no manifest.json; it is not a docker-archive")]
        }
        let images: [ArchiveImage]
        do { images = try CanonicalJSON.decode([ArchiveImage].self, from: manifestBytes) } catch {
            return [ValidationProblem(.malformed, "manifest.json is not a docker-archive manifest: \(error)")]
        }
        guard !images.isEmpty else { return [ValidationProblem(.malformed, "manifest.json lists no image")] }
        var problems = [ValidationProblem]()
        for image in images {
            for tag in image.repoTags ?? [] where (try? ImageReference(parsing: tag)) == nil {
                problems.append(ValidationProblem(.malformed, "RepoTags entry '\(tag)' is not a valid image reference"))
            }
            guard let configBytes = contents.smallFiles[image.config] else {
                problems.append(
                    ValidationProblem(.missingBlob, "config file \(image.config) is missing from the tarball"))
                continue
            }
            let configDigest = Digest.sha256(of: configBytes)
            if image.config.hasSuffix(".json"), let named = try? Digest(sha256Hex: String(image.config.dropLast(5))),
                named != configDigest
            {
                problems.append(
                    ValidationProblem(
                        .digestMismatch,
                        "config file \(image.config) hashes to \(configDigest); it was changed or corrupted"))
            }
            let (found, diffIDs) = configProblems(
                configBytes: configBytes, name: "config \(image.config)", layerCount: image.layers.count)
            problems += found
            for (index, layer) in image.layers.enumerated() {
                guard let digest = contents.digests[layer] else {
                    problems.append(
                        ValidationProblem(.missingBlob, "layer \(index) file \(layer) is missing from the tarball"))
                    continue
                }
                if let diffIDs, index < diffIDs.count, diffIDs[index] != digest {
                    problems.append(
                        ValidationProblem(
                            .diffIDMismatch,
                            "layer \(index) file \(layer) hashes to \(digest) but the config diff ID is \(diffIDs[index]) (layers must be stored uncompressed)"
                        ))
                }
            }
        }
        return problems
    }

    private static func readArchive(_ path: String) throws -> ArchiveContents {
        guard let archive = archive_read_new() else {
            throw LayerScan.Error.archive(operation: "archive_read_new", path: path, message: "out of memory")
        }
        defer { archive_read_free(archive) }
        func check(_ operation: String, _ result: Int32) throws {
            do {
                try checkArchive(result, archive, operation)
            } catch {
                throw LayerScan.Error.archive(operation: operation, path: path, message: error.message)
            }
        }
        try check("enable filters", archive_read_support_filter_all(archive))
        try check("enable tar", archive_read_support_format_tar(archive))
        try check("open", archive_read_open_filename(archive, path, FileIO.chunkSize))
        var contents = ArchiveContents()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileIO.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var entry: OpaquePointer?
        while true {
            let header = archive_read_next_header(archive, &entry)
            if header == ARCHIVE_EOF { break }
            try check("read header", header)
            guard let entry, archive_entry_filetype(entry) == KILN_AE_IFREG,
                let cName = archive_entry_pathname(entry)
            else { continue }
            var name = String(cString: cName)
            if name.hasPrefix("./") { name.removeFirst(2) }
            // manifest.json, configs and `repositories` are small; layers are only hashed.
            let keep = name.hasSuffix(".json") || name == "repositories"
            var hasher = SHA256Hasher()
            var kept = [UInt8]()
            while true {
                let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
                if n == 0 { break }
                if n < 0 {
                    let message = archiveMessage(archive)
                    throw LayerScan.Error.archive(operation: "read \(name)", path: path, message: message)
                }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(chunk)
                if keep, kept.count < 64 << 20 { kept.append(contentsOf: chunk) }
            }
            contents.digests[name] = hasher.finalize()
            if keep { contents.smallFiles[name] = kept }
        }
        return contents
    }
}
