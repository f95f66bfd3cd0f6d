import Archive
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import PluginAPI
import Runner

extension StageExecutor {
    /// An image path made absolute against WORKDIR, keeping a trailing slash.
    func imagePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let base = state.workingDirectory
        let joined = (base.hasSuffix("/") ? base : base + "/") + path
        return joined
    }

    /// `--chown` resolved through this stage's /etc/passwd and /etc/group.
    func owner(_ chown: String?, default fallback: FileCopier.Owner?, location: SourceLocation) throws -> FileCopier.Owner? {
        guard let chown, !chown.isEmpty else { return fallback }
        do {
            let id = try UserDatabase(root: root.path).resolveOwner(chown)
            return FileCopier.Owner(uid: id.uid, gid: id.gid)
        } catch {
            throw KilnError.at(location, "--chown=\(chown)", cause: error, fallback: .invalidInput)
        }
    }

    func chmodSpec(_ text: String?, location: SourceLocation) throws -> ChmodSpec? {
        guard let text else { return nil }
        do { return try ChmodSpec(parsing: text) } catch { throw KilnError.at(location, "", cause: error, fallback: .invalidInput) }
    }

    /// Where COPY reads from: the context, an earlier stage's root, or an image's root.
    func sourceTree(from: String?, location: SourceLocation) async throws -> BuildContext {
        guard let from else { return session.context }
        if let named = NamedContext.lookup(from, in: session.options.source.namedContexts) {
            return try await BaseImages(session: session).tree(of: named, name: from, location: location)
        }
        let reference: StageReference
        do { reference = try session.dockerfile.resolveSource(from, inStage: stage.index, location: location) } catch {
            throw KilnError.wrapping(error, fallback: .invalidInput)
        }
        if case .stage(let i) = reference {
            guard session.progress.finished[i] != nil else {
                throw KilnError.at(
                    location, .internal, "COPY --from=\(from): stage \(i) was not built (is --skip-unused-stages hiding it?)")
            }
            if session.inPlace {
                return BuildContext(directory: try await BaseImages(session: session).exportedRoot(ofStage: i).path, ignore: nil)
            }
            let result = try await BaseImages(session: session).completeRoot(ofStage: i)
            return BuildContext(directory: result.root.path, ignore: nil)
        }
        let root = try await BaseImages(session: session).rootForCopy(from, location: location)
        return BuildContext(directory: root.path, ignore: nil)
    }

    func execute(_ copy: CopyInstruction) async throws {
        let tree = try await sourceTree(from: copy.from, location: copy.location)
        let fallback: FileCopier.Owner? = copy.from == nil ? FileCopier.Owner(uid: 0, gid: 0) : nil
        let copier = FileCopier(
            root: root, owner: try owner(copy.chown, default: fallback, location: copy.location),
            chmod: try chmodSpec(copy.chmod, location: copy.location))
        copier.skipContents = nothingReadsRootAfterCurrentStep
        try copying(copy.location, copy.original) {
            try copyFiles(
                copy.sources, to: copy.destination, tree: tree, copier: copier, parents: copy.parents,
                excludes: copy.excludes, location: copy.location, keyword: "COPY")
        }
        try await commitCopied(copier, createdBy: copy.original)
    }

    /// Copies sources (patterns or heredocs) to the destination with Docker's rules.
    func copyFiles(
        _ sources: [CopySource], to destination: String, tree: BuildContext, copier: FileCopier, parents: Bool,
        excludes: [String], location: SourceLocation, keyword: String, unpack: ((String, String) throws -> Bool)? = nil
    ) throws {
        let dest = imagePath(destination)
        let excludeMatchers = try excludes.map { try DockerIgnore(text: $0) }
        // .dockerignore matches paths relative to the context; --exclude matches paths relative to
        // the source being copied (BuildKit's rule), so `--exclude=*_test.go src/` works.
        var sourcePrefix = ""
        copier.excludes = { rel, isDirectory in
            if tree.isExcluded(rel, isDirectory: isDirectory) { return true }
            let local =
                sourcePrefix.isEmpty ? rel : (rel.hasPrefix(sourcePrefix + "/") ? String(rel.dropFirst(sourcePrefix.count + 1)) : rel)
            return excludeMatchers.contains { $0.excludes(local, isDirectory: isDirectory) }
        }
        copier.mayReinclude = { rel in
            if !tree.mayReinclude(below: rel) { return false }
            let local =
                sourcePrefix.isEmpty ? rel : (rel.hasPrefix(sourcePrefix + "/") ? String(rel.dropFirst(sourcePrefix.count + 1)) : rel)
            return !excludeMatchers.contains { $0.canSkipDirectory(local) }
        }
        // `kept`: what --parents keeps of the source path (after a `/./` pivot, if any).
        var matched: [(host: BytePath, relative: BytePath, kept: BytePath)] = []
        var heredocs: [Heredoc] = []
        for source in sources {
            switch source {
            case .heredoc(let h): heredocs.append(h)
            case .path(let pattern):
                let sourceRoot = BuildRoot(path: tree.directory)
                let pivot = parents ? Self.parentsPivot(pattern) : ""
                for rel in try tree.match(pattern, excludes: excludeMatchers, location: location) {
                    // Resolve inside the source tree: a symlink never leads out of it.
                    let resolved = try sourceRoot.resolve(rel)
                    let kept =
                        !pivot.isEmpty && rel.hasPrefix(pivot + "/") ? BytePath(bytes: rel.bytes.dropFirst(pivot.utf8.count + 1)) : rel
                    matched.append((sourceRoot.hostPath(resolved), rel, kept))
                }
            }
        }
        let many = matched.count + heredocs.count > 1
        if many && !dest.hasSuffix("/") && !parents {
            throw KilnError.at(
                location, .invalidInput,
                "when using \(keyword) with more than one source file, the destination must be a directory and end with a /")
        }
        let intoDirectory = dest.hasSuffix("/") || many
        let now = session.options.layers.fixedTimestamp.map { timespec(tv_sec: Int($0), tv_nsec: 0) } ?? Self.now()
        for h in heredocs {
            let target = intoDirectory ? dest + h.name : dest
            try copier.write(.bytes(Array(h.content.utf8)), to: target, permissions: 0o644, mtime: now)
        }
        for (host, rel, kept) in matched {
            // ADD unpacks archives named in text only; one whose name is not UTF-8 is copied.
            if let unpack, let hostText = host.string, try unpack(hostText, dest) { continue }
            sourcePrefix = rel.lossyString
            if parents {
                var st = stat()
                let isDir = host.withCString { stat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
                let target = BytePath(dest.hasSuffix("/") ? dest : dest + "/") + (isDir ? kept : kept.parent)
                try copier.copy(source: host, relative: rel, to: isDir ? target : target + "/", intoDirectory: !isDir)
            } else {
                try copier.copy(source: host, relative: rel, to: BytePath(dest), intoDirectory: intoDirectory)
            }
        }
    }

    /// `COPY --parents ./x/./y/*.txt /d/` keeps only what follows the `/./` (rsync's
    /// `--relative` rule, BuildKit's pivot): returns the part before it, normalised (`x`), or
    /// "" when the source has no pivot.
    static func parentsPivot(_ pattern: String) -> String {
        var rest = Substring(pattern)
        while rest.hasPrefix("./") || rest.hasPrefix("/") { rest = rest.dropFirst(rest.hasPrefix("/") ? 1 : 2) }
        guard let range = rest.firstRange(of: "/./") else { return "" }
        return BuildRoot.components(String(rest[..<range.lowerBound])).joined(separator: "/")
    }

    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// Turns what a copier wrote into a layer (parents first), without walking the root.
    func commitCopied(_ copier: FileCopier, createdBy: String) async throws {
        state.snapshotStale = true
        if singleSnapshot {
            addHistory(createdBy)
            return
        }
        // The layer cache: the chain records what was copied; with --cache-copy-layers the
        // layer may come from the cache.
        let cacheStep = try await copyStepKey(copier)
        if let cacheStep, cacheStep.lookUp, try await reuse(cacheStep.key, createdBy: createdBy, chainsLayer: false, filesInRoot: true) {
            return
        }
        let layersBefore = state.layers.count
        let written = copier.written
        let deferred = copier.deferred.mapValues {
            ($0.source, LayerWriter.Overrides(uid: $0.uid, gid: $0.gid, permissions: $0.permissions))
        }
        let rootPath = root.path
        let shape = LayerShape(files: copier.contentFiles, contentBytes: copier.contentBytes)
        try await commitLayer(createdBy: createdBy, shape: shape) { writer in
            for rel in written {
                try writer.addParents(of: rel, root: rootPath)
                if writer.writtenNames.contains(rel) { continue }
                if let (source, overrides) = deferred[rel] {
                    try writer.addPath(source, as: rel, overrides: overrides)
                } else {
                    try writer.addPath(BytePath(rootPath).appending(rel), as: rel)
                }
            }
        }
        if let cacheStep {
            await finishStep(cacheStep.key, layersBefore: layersBefore, createdBy: createdBy, store: true, chainsLayer: false)
        }
    }

    func execute(_ workdir: WorkdirInstruction) async throws {
        let path = imagePath(workdir.path)
        var c = state.containerConfig
        c.workingDir = "/" + BuildRoot.relative(path)
        state.config.config = c
        let created = try makeWorkingDirectory()
        if created.isEmpty || singleSnapshot {
            if !created.isEmpty { state.snapshotStale = true }
            addHistory(workdir.original)
            return
        }
        state.snapshotStale = true
        let rootPath = root.path
        try await commitLayer(createdBy: workdir.original) { writer in
            for (index, rel) in created.enumerated() {
                // Each directory made is usually the parent of the next: only look up parents
                // otherwise (per-directory lookups of every ancestor made deep paths cubic).
                if index == 0 || BuildRoot.parent(of: rel) != created[index - 1] {
                    try writer.addParents(of: rel, root: rootPath)
                }
                try writer.addPath(rootPath + "/" + rel, as: rel)
            }
        }
    }

    /// Creates WORKDIR if missing, owned by the stage's USER (BuildKit's rule); returns the
    /// relative paths it created.
    func makeWorkingDirectory() throws -> [String] {
        var uid: uid_t = 0
        var gid: gid_t = 0
        if !state.user.isEmpty, let id = try? UserDatabase(root: root.path).resolveOwner(state.user) {
            uid = id.uid
            gid = id.gid
        }
        do {
            return try root.makeDirectories(state.workingDirectory, permissions: 0o755, uid: uid, gid: gid).created
        } catch {
            throw KilnError.wrapping(error, "WORKDIR \(state.workingDirectory)")
        }
    }

    /// Runs the file work of COPY/ADD; a failure that is not already a `KilnError` (a system
    /// call, a missing source) becomes one at the instruction's location, keeping the cause:
    /// `Dockerfile:3:1: COPY a.txt /: open …: Permission denied`.
    func copying(_ location: SourceLocation, _ original: String, _ body: () throws -> Void) throws {
        do { try body() } catch let error as KilnError { throw error } catch let error as BuildContext.Error {
            // These name their location themselves.
            throw KilnError.wrapping(error)
        } catch {
            throw KilnError.at(location, original, cause: error)
        }
    }
}
