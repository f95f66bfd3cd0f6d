import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import ImageStore
import LayerCache
import PluginAPI
import PluginSupport

/// The layer cache's seam in a stage: every step moves the stage's `CacheChain` on by its
/// output; RUN (and with `--cache-copy-layers` COPY/ADD) first looks its key up and, on a hit,
/// takes the stored layer instead of doing the work; a miss stores the new layer in the
/// background.
extension StageExecutor {
    /// A step that changes only the config (or WORKDIR, whose effect its text and USER decide).
    func recordInCacheChain(_ instruction: Instruction) {
        guard session.cache != nil else { return }
        let parts = ["meta", instruction.original, state.workingDirectory, state.user]
        state.cacheChain?.advance(parts)
    }

    /// What every layer-making key includes besides the step: how the layer is written.
    var layerKeyParts: [String] {
        [session.options.layers.compression.rawValue, session.options.layers.fixedTimestamp.map { "\($0)" } ?? "now"]
    }

    /// RUN through the cache: the key is the command as it runs (argv, environment, working
    /// directory, user, network); the chain moves on by the layer's diff ID. Undeclared proxy
    /// build args are left out of the key (Docker's rule: runners behind different proxies share
    /// a cache).
    func executeCaching(_ run: RunInstruction) async throws {
        guard let cache = session.cache, let chain = state.cacheChain else { return try await execute(run) }
        let proxies = Set(state.arguments.proxyEnvironment.keys)
        let environment = state.runEnvironment.filter { !proxies.contains(String($0.prefix { $0 != "=" })) }
        let spec =
            ["RUN"] + argv(for: run) + ["env"] + environment.sorted()
            + ["dir", state.workingDirectory, "user", state.user, "net", "\(run.network)"] + layerKeyParts
        let key = chain.key(spec)
        // RUN --mount reads what the key cannot see (caches, secrets, other stages' files).
        let cacheable = cache.options.runLayers && run.mounts.isEmpty
        if cacheable, try await reuse(key, createdBy: run.original, chainsLayer: true) { return }
        try await materializeRoot()
        let before = state.layers.count
        try await execute(run)
        await finishStep(key, layersBefore: before, createdBy: run.original, store: cacheable, chainsLayer: true)
    }

    /// COPY/ADD: the chain moves on by the digest of what was written (names, modes, owners,
    /// content; not times). Returns the key when the layer itself goes through the cache
    /// (`--cache-copy-layers`), and whether it is still to be looked up; nil otherwise.
    func copyStepKey(_ copier: FileCopier) async throws -> (key: CacheKey, lookUp: Bool)? {
        if let key = precomputedCopyKey {
            // `copyThroughCache` keyed (and looked up) this COPY from its sources already.
            precomputedCopyKey = nil
            return (key, false)
        }
        guard let cache = session.cache, let chain = state.cacheChain else { return nil }
        let content = try await contentDigest(copier, root: root.path)
        let key = chain.key(["COPY", content.description] + layerKeyParts)
        state.cacheChain?.advance(["COPY", content.description])
        return cache.options.copyLayers ? (key, true) : nil
    }

    /// The digest of what `copier` wrote under `root` (or deferred from its sources).
    func contentDigest(_ copier: FileCopier, root rootPath: String) async throws -> Digest {
        let entries = copier.written.map { rel in
            if let d = copier.deferred[rel] {
                return ContentDigest.Entry(name: rel, hostPath: d.source, uid: d.uid, gid: d.gid, permissions: d.permissions)
            }
            return ContentDigest.Entry(name: rel, hostPath: BytePath(rootPath) + "/" + rel)
        }
        do { return try await runBlocking { try ContentDigest.of(entries) } } catch {
            throw KilnError.wrapping(error, "\(stageLabel) STEP \(stepNumber): hashing the copied files")
        }
    }

    /// COPY with `--cache-copy-layers` (and no `--chown`, whose names need the root's
    /// /etc/passwd): keyed by its sources alone, copied into an empty scratch root without
    /// contents, so a hit needs neither the root's files nor a copy. Returns true on a hit; on a
    /// miss the key is kept for the real copy, which stores its layer under it.
    func copyThroughCache(_ copy: CopyInstruction) async throws -> Bool {
        guard let cache = session.cache, cache.options.copyLayers, copy.chown == nil, let chain = state.cacheChain else {
            return false
        }
        if let from = copy.from, let stageChain = try finishedStageChain(from, location: copy.location) {
            // An earlier stage's files are what its chain says: no need to read (or extract) them.
            var parts = ["COPY-FROM", stageChain.state.description, imagePath(copy.destination), copy.chmod ?? "", "\(copy.parents)"]
            parts += copy.excludes
            for source in copy.sources {
                switch source {
                case .path(let path): parts += ["path", path]
                case .heredoc(let h): parts += ["heredoc", h.name, h.content]
                }
            }
            return try await reuseCopy(key: chain.key(parts + layerKeyParts), output: parts, createdBy: copy.original)
        }
        let scratch = BuildRoot(path: session.workDirectory + "/copy-key")
        try? removeTree(scratch.path)
        do { try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: true) } catch {
            throw KilnError.wrapping(error, "cannot create \(scratch.path)")
        }
        defer { try? removeTree(scratch.path) }
        let tree = try await sourceTree(from: copy.from, location: copy.location)
        let copier = FileCopier(
            root: scratch, owner: copy.from == nil ? FileCopier.Owner(uid: 0, gid: 0) : nil,
            chmod: try chmodSpec(copy.chmod, location: copy.location))
        copier.skipContents = true
        try copying(copy.location, copy.original) {
            try copyFiles(
                copy.sources, to: copy.destination, tree: tree, copier: copier, parents: copy.parents,
                excludes: copy.excludes, location: copy.location, keyword: "COPY")
        }
        let content = try await contentDigest(copier, root: scratch.path)
        let key = chain.key(["COPY-SOURCES", content.description] + layerKeyParts)
        return try await reuseCopy(key: key, output: ["COPY", content.description], createdBy: copy.original)
    }

    /// Records a COPY keyed before copying: the chain moves on by `output`; a hit takes the
    /// layer, a miss keeps the key for the real copy.
    private func reuseCopy(key: CacheKey, output: [String], createdBy: String) async throws -> Bool {
        state.cacheChain?.advance(output)
        if try await reuse(key, createdBy: createdBy, chainsLayer: false) {
            state.snapshotStale = true
            return true
        }
        precomputedCopyKey = key
        return false
    }

    /// The chain of the finished stage `from` names, if it names one.
    private func finishedStageChain(_ from: String, location: SourceLocation) throws -> CacheChain? {
        let reference: StageReference
        do { reference = try session.dockerfile.resolveSource(from, inStage: stage.index, location: location) } catch {
            throw KilnError.wrapping(error, fallback: .invalidInput)
        }
        guard case .stage(let index) = reference else { return nil }
        return session.progress.finished[index]?.state.cacheChain
    }

    /// Extracts the layers not yet in the root (the base, cache hits): before a step that reads
    /// or writes the root's files, and at the end of a stage a later one uses.
    func materializeRoot() async throws {
        guard !state.pendingLayers.isEmpty else { return }
        try await BaseImages(session: session).fill(root, pending: &state, named: "stage \(stage.index)")
        state.snapshotStale = true
    }

    /// Looks `key` up; on a hit, adds the stored layer (extracted into the root only when a
    /// later step needs the root) and the step's history, and returns true. A miss, or an
    /// entry that cannot be read, returns false: the step runs. `chainsLayer`: the chain moves on by the layer's
    /// diff ID (RUN; COPY's output is the content it already recorded). `filesInRoot`: the
    /// step's files are in the root already (COPY wrote them), only its layer is taken.
    func reuse(_ key: CacheKey, createdBy: String, chainsLayer: Bool, filesInRoot: Bool = false) async throws -> Bool {
        guard let cache = session.cache else { return false }
        let prefix = "\(stageLabel) STEP \(stepNumber)/\(stepCount):"
        let entry: CacheEntry
        if cache.isOffline {
            log.info("\(prefix) cache miss (the cache is unreachable), key \(key)")
            return false
        }
        let (answer, recorded) = await cache.lookup(key, now: Int64(time(nil)))
        switch answer {
        case .miss(.unreachable(let reason)):
            if cache.goOffline() {
                log.warning("the layer cache \(cache.repository.name) is unreachable (\(reason)); building without it")
            }
            log.info("\(prefix) cache miss (the cache is unreachable), key \(key)")
            return false
        case .miss(let reason):
            if case .unreadable = reason {
                log.warning("\(prefix) the cache entry \(key) in \(cache.repository.name) is \(reason); running the step")
            }
            log.info("\(prefix) cache miss (\(reason)), key \(key)")
            return false
        case .hit(let found):
            entry = found
        }
        if recorded { log.debug("\(prefix) cache entry \(key) read from its local record (no request)") }
        guard let layer = entry.layer else {
            log.info("\(prefix) cache hit (no changes), key \(key)")
            addHistory(createdBy)
            if chainsLayer { state.cacheChain?.advance(["layer", "none"]) }
            return true
        }
        if cache.options.distrusted.contains(key) {
            log.info("\(prefix) cache miss (unreadable layer), key \(key)")
            return false
        }
        // A hit is taken on the lookup alone (or a local record of it) and its layer downloads in
        // the background, or with `--cache-dir` when something reads it; if the download fails,
        // the build runs again with the entry distrusted (`ImageBuilder.run`).
        // In place the root is `/`, which a second run could not start from clean: there the
        // layer is checked first.
        if session.inPlace, !session.store.contains(layer.descriptor.digest), await !cache.repository.hasLayer(entry) {
            log.warning(
                "\(prefix) the cache entry \(key)'s layer \(layer.descriptor.digest) is unreadable (\(cache.repository.name) does not have it); running the step"
            )
            log.info("\(prefix) cache miss (unreadable layer), key \(key)")
            return false
        }
        cache.prefetch(entry, into: session.store)
        if !filesInRoot { state.pendingLayers.append(layer) }
        state.layers.append(layer)
        addHistory(createdBy, emptyLayer: false)
        if chainsLayer { state.cacheChain?.advance(["layer", layer.diffID.description]) }
        log.info("\(prefix) cache hit, layer \(layer.descriptor.digest), key \(key)")
        let cacheRepository = (cache.repository as? RegistryCacheRepository)?.repository
        await startUpload(layer.descriptor, mountFrom: cacheRepository.map { [$0] } ?? [])
        return true
    }

    /// After a step ran: moves the chain on by its layer (RUN) and queues the entry's upload.
    func finishStep(_ key: CacheKey, layersBefore: Int, createdBy: String, store: Bool, chainsLayer: Bool) async {
        guard let cache = session.cache else { return }
        let layer = state.layers.count > layersBefore ? state.layers.last : nil
        if chainsLayer { state.cacheChain?.advance(["layer", layer?.diffID.description ?? "none"]) }
        guard store, cache.options.push, !cache.isOffline else { return }
        let repository = cache.repository
        let blobs = session.store
        let platform = session.platform(ofStage: stage.index)
        let destination = layer == nil ? nil : destinationSharingRegistry(with: cache)
        let early = session.uploads
        // Once the layer's early upload reached a destination on the cache's registry, the entry
        // mounts it from there: its bytes go up once, not twice side by side.
        let mountFrom: @Sendable () async -> [ImageReference] = {
            guard let layer, let destination, let early, await early.uploaded(layer.descriptor.digest, to: destination) else {
                return []
            }
            return [destination]
        }
        await cache.uploads.enqueue("the layer of \(createdBy)") {
            try await repository.store(
                key, layer: layer, from: blobs, createdBy: createdBy, platform: platform, mountingFrom: mountFrom)
            cache.recordStored(key, layer: layer, createdBy: createdBy)
        }
    }

    /// The destination an image stage's new layers are uploaded to early on the registry of
    /// `cache`'s repository (the first destination there), if any.
    private func destinationSharingRegistry(with cache: StepCache) -> ImageReference? {
        guard session.uploads != nil, session.imageStages.contains(stage.index),
            let cacheRepository = (cache.repository as? RegistryCacheRepository)?.repository
        else { return nil }
        return session.options.outputs.destinations.first { $0.registry == cacheRepository.registry }
            .flatMap { $0.repository == cacheRepository.repository ? nil : $0 }
    }
}
