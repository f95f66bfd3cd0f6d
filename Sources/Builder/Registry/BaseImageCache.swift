import FoundationEssentials
import Glibc
import ImageStore
import PluginAPI

/// The base-image cache (`--cache-dir`, filled by `kiln warm` and on first use): an OCI image
/// layout whose entries are named by the full reference and carry their platform. An entry
/// older than `--cache-ttl` (by the time it was stored) is ignored and replaced; an entry named
/// by digest never expires.
struct BaseImageCache {
    let directory: String
    /// Seconds.
    let ttl: Int64
    let log: BuildLog

    /// The cached image for `reference` on `platform`, its blobs linked into `store`; nil on a
    /// miss or when the entry expired.
    /// The entry name: the full reference, `:latest` when neither tag nor digest is given.
    static func key(_ reference: ImageReference) -> String {
        (reference.tag == nil && reference.digest == nil ? reference.with(tag: ImageReference.defaultTag) : reference).description
    }

    func lookup(_ reference: ImageReference, platform: Platform, into store: BlobStore) throws -> PulledImage? {
        guard FileManager.default.fileExists(atPath: directory + "/index.json"),
            let reader = try? OCILayoutReader(path: directory),
            let image = try? reader.image(refName: Self.key(reference), platform: platform)
        else { return nil }
        if reference.digest == nil, let age = age(of: image.digest), age >= ttl {
            log.info("cached \(reference) is older than --cache-ttl; pulling again")
            return nil
        }
        for digest in image.blobDigests where !store.contains(digest) {
            try linkOrCopy(reader.store.path(for: digest), to: store.path(for: digest))
        }
        log.info("using \(reference) from the cache \(directory)")
        return PulledImage(
            reference: reference, manifestDigest: image.digest, config: image.config, layers: image.layers, format: image.format)
    }

    /// Stores a pulled image; failures only warn (the build goes on without the cache).
    func save(_ pulled: PulledImage, from store: BlobStore) async {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let image = try Image.load(manifest: pulled.manifestDigest, from: store)
            _ = try await OCILayoutWriter(path: directory).write(image, refName: Self.key(pulled.reference))
            // The manifest's mtime is when the entry was stored (the TTL clock).
            let path = directory + "/blobs/sha256/" + pulled.manifestDigest.encoded
            utimes(path, nil)
            log.info("cached \(pulled.reference) in \(directory)")
        } catch {
            log.warning("could not cache \(pulled.reference) in \(directory): \(error)")
        }
    }

    private func age(of manifest: Digest) -> Int64? {
        var st = stat()
        guard stat(directory + "/blobs/sha256/" + manifest.encoded, &st) == 0 else { return nil }
        return Int64(time(nil)) - Int64(st.st_mtim.tv_sec)
    }

    private func linkOrCopy(_ source: String, to destination: String) throws {
        if link(source, destination) == 0 || errno == EEXIST { return }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}
