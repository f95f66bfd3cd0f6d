import Diagnostics
import FoundationEssentials
import ImageStore
import PluginAPI
import PluginSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Base images' files kept across builds in `--cache-dir` (beside the cached layouts, as
/// buildah keeps extracted layers in its storage): a rebuild on the same base mounts its
/// overlay roots over them and extracts nothing.
extension BaseImages {
    /// `<cache-dir>/roots/<manifest digest>`, extracted on first use; nil without `--cache-dir`,
    /// in place, or when overlay roots are unavailable (a copy of the kept files would cost as
    /// much as an extraction).
    ///
    /// The files are extracted into a private temporary directory and renamed into place, so a
    /// kept root is always complete and two builds extracting the same base at once both succeed
    /// (the second rename loses and its copy goes). Nothing ever writes to a kept root: it is
    /// only an overlay's lower layer or the source of `COPY --from=<image>`.
    func persistentRoot(_ pulled: PulledImage) async throws -> BuildRoot? {
        guard let cache = session.options.baseImages.cacheDirectory, !cache.isEmpty, !session.inPlace, overlaysAvailable else {
            return nil
        }
        let roots = cache + "/roots"
        let kept = BuildRoot(path: roots + "/" + pulled.manifestDigest.encoded)
        if FileManager.default.fileExists(atPath: kept.path) {
            session.log.info("\(pulled.reference)'s files are kept in \(roots): nothing to extract")
            return kept
        }
        // Two stages on the same image, building at the same time, extract it once.
        let images = self
        try await InFlightWork.shared.run(kept.path) {
            if FileManager.default.fileExists(atPath: kept.path) { return }
            try await images.extractKept(pulled, into: kept, roots: roots)
        }
        return FileManager.default.fileExists(atPath: kept.path) ? kept : nil
    }

    /// Extracts into a private partial directory and renames it to `kept`; logs and leaves
    /// `kept` missing when the cache directory cannot be written.
    private func extractKept(_ pulled: PulledImage, into kept: BuildRoot, roots: String) async throws {
        let partial = BuildRoot(path: roots + "/.partial-\(getpid())-" + pulled.manifestDigest.encoded)
        Self.extracting.withLock { _ = $0.insert(partial.path) }
        defer { Self.extracting.withLock { _ = $0.remove(partial.path) } }
        do {
            try BuildRoot.makePrivateDirectory(roots)
            Self.removeAbandoned(in: roots)
            try FileManager.default.createDirectory(atPath: partial.path, withIntermediateDirectories: false)
        } catch {
            session.log.warning("cannot keep \(pulled.reference)'s files in \(roots) (\(error)); extracting them for this build only")
            return
        }
        do {
            try await extract(pulled, into: partial)
        } catch {
            try? removeTree(partial.path)
            throw error
        }
        if rename(partial.path, kept.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? removeTree(partial.path)
            guard FileManager.default.fileExists(atPath: kept.path) else {
                throw KilnError(.failed, "cannot keep \(pulled.reference)'s files as \(kept.path): \(reason)")
            }
        }
        session.log.info("kept \(pulled.reference)'s files in \(roots) for later builds")
    }

    /// What a base's later layers (cache hits) change, kept in `--cache-dir` as an overlay upper
    /// directory (whiteouts and opaque directories as overlayfs writes them) keyed by the base's
    /// manifest digest and the layers' diff IDs: a rebuild whose steps hit the cache again stacks
    /// it between the base's files and the stage's own upper and extracts nothing, as buildah
    /// stacks the layers in its storage. Nil (extract as before) without `--cache-dir`, with
    /// `--ignore-path`s (they change what extraction writes), or when overlayfs refuses.
    ///
    /// Made by extracting the layers into an overlay over `files` whose upper directory is private
    /// to this build, unmounted and renamed into place: a kept directory is always complete and
    /// never written again.
    func persistentLayers(_ layers: [Layer], over pulled: PulledImage, files: BuildRoot, named name: String) async throws -> String? {
        guard !layers.isEmpty, let cache = session.options.baseImages.cacheDirectory, !cache.isEmpty, !session.inPlace,
            session.options.execution.ignorePaths.isEmpty, overlaysAvailable
        else { return nil }
        let roots = cache + "/roots"
        let key = Digest.sha256(of: ([pulled.manifestDigest] + layers.map { $0.diffID }).map { $0.description }.joined(separator: "\n"))
        let kept = roots + "/layers-" + key.encoded
        if FileManager.default.fileExists(atPath: kept) {
            session.log.info("\(name)'s \(layers.count) cached layer(s) are kept in \(roots): nothing to extract")
            return kept
        }
        // Two stages with the same hits, building at the same time, keep them once.
        let images = self
        return try await InFlightWork.shared.run(kept) {
            if FileManager.default.fileExists(atPath: kept) { return kept }
            return try await images.keepLayers(layers, over: files, named: name, roots: roots, key: key, kept: kept)
        }
    }

    /// `persistentLayers`' extraction into a private overlay upper, renamed to `kept`.
    private func keepLayers(
        _ layers: [Layer], over files: BuildRoot, named name: String, roots: String, key: Digest, kept: String
    ) async throws -> String? {
        let partial = roots + "/.partial-\(getpid())-layers-" + key.encoded
        let merged = partial + "/merged"
        Self.extracting.withLock { _ = $0.insert(partial) }
        defer { Self.extracting.withLock { _ = $0.remove(partial) } }
        do {
            try BuildRoot.makePrivateDirectory(roots)
            Self.removeAbandoned(in: roots)
            try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: true)
        } catch {
            session.log.debug("cannot keep \(name)'s cached layers in \(roots): \(error)")
            return nil
        }
        defer { try? removeTree(partial) }
        guard session.overlays.mount(lowers: [files.path], at: merged, durable: true) else { return nil }
        do {
            try await extract(layers: layers, named: "\(name)'s cached steps", into: BuildRoot(path: merged))
        } catch {
            _ = session.overlays.unmount(merged)
            throw error
        }
        guard session.overlays.unmount(merged) else { return nil }
        if rename(merged + ".upper", kept) != 0, !FileManager.default.fileExists(atPath: kept) { return nil }
        session.log.info("kept the effect of \(name)'s \(layers.count) cached layer(s) in \(roots) for later builds")
        return kept
    }

    /// This process's partial extractions in progress (other stages', other builds'): never
    /// "abandoned".
    private static let extracting = Mutex<Set<String>>([])

    /// Removes the partial extractions of builds that died (killed, the machine rebooted).
    static func removeAbandoned(in roots: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: roots)) ?? [] where name.hasPrefix(".partial-") {
            let pid = name.dropFirst(".partial-".count).prefix { $0 != "-" }
            guard let pid = pid_t(pid), pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) else { continue }
            guard !extracting.withLock({ $0.contains(roots + "/" + name) }) else { continue }
            try? removeTree(roots + "/" + name)
        }
    }
}
