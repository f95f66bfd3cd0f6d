import Diagnostics
import Foundation
import PluginSupport

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
        let partial = BuildRoot(path: roots + "/.partial-\(getpid())-" + pulled.manifestDigest.encoded)
        do {
            try BuildRoot.makePrivateDirectory(roots)
            Self.removeAbandoned(in: roots)
            try FileManager.default.createDirectory(atPath: partial.path, withIntermediateDirectories: false)
        } catch {
            session.log.warning("cannot keep \(pulled.reference)'s files in \(roots) (\(error)); extracting them for this build only")
            return nil
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
        return kept
    }

    /// Removes the partial extractions of builds that died (killed, the machine rebooted).
    static func removeAbandoned(in roots: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: roots)) ?? [] where name.hasPrefix(".partial-") {
            let pid = name.dropFirst(".partial-".count).prefix { $0 != "-" }
            guard let pid = pid_t(pid), pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) else { continue }
            try? removeTree(roots + "/" + name)
        }
    }
}
