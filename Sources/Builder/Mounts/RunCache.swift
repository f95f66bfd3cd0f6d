// `RUN --mount=type=cache`: directories kept between builds under `--run-cache-dir`, one per id,
// shared between kiln processes through flock(2) the way BuildKit's `sharing=` modes say.
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import PluginAPI
import PluginSupport
import Runner
import SystemCalls

extension RunMountOptions {
    /// Where cache mounts live: `--run-cache-dir`, else `<--kaniko-dir>/run-cache`, else
    /// `/var/cache/kiln/run-cache`.
    public func cacheRoot(workDirectory: String?) -> String {
        if let cacheDirectory, !cacheDirectory.isEmpty { return cacheDirectory }
        if let workDirectory, !workDirectory.isEmpty { return workDirectory + "/run-cache" }
        return "/var/cache/kiln/run-cache"
    }
}

extension StageExecutor {
    /// In place the cache root is inside `/`: it is made before the stage's first snapshot, so
    /// the directories above it (`/var/cache/kiln`) are part of the state RUN is measured
    /// against and never show up as the step's changes. The root itself is never snapshotted.
    func makeRunCacheRootInPlace() throws {
        guard session.inPlace, state.snapshot == nil else { return }
        let usesCache = stage.instructions.contains { instruction in
            guard case .run(let run) = instruction else { return false }
            return run.mounts.contains { $0.type == .cache }
        }
        guard usesCache else { return }
        let execution = session.options.execution
        let root = execution.runMounts.cacheRoot(workDirectory: execution.workDirectory)
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw KilnError(.failed, "cannot create the RUN cache directory \(root)", cause: error)
        }
    }

    /// `type=cache`: `<root>/<sha256(id)>/data`, created on first use with `mode` (0755), `uid`
    /// and `gid` (0) and seeded from `from`/`source` when those are given. `shared` takes a
    /// shared lock (several steps at once), `locked` an exclusive one (waits), `private` an
    /// exclusive one or, when the cache is busy, a fresh directory thrown away after the step.
    func prepareCache(_ mount: RunMount, run: RunInstruction, into prepared: PreparedMounts) async throws {
        let target = try mountTarget(mount, run)
        // BuildKit's default id is the target as written, cleaned.
        let id = mount.id ?? mount.target.map { ($0.hasPrefix("/") ? "/" : "") + BuildRoot.relative($0) } ?? target
        let execution = session.options.execution
        let root = execution.runMounts.cacheRoot(workDirectory: execution.workDirectory)
        let entry = root + "/" + Digest.sha256(of: id).encoded
        let data: String
        do {
            try FileManager.default.createDirectory(atPath: entry, withIntermediateDirectories: true)
            let lock = try sys("open", entry + "/lock") { open(entry + "/lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600) }
            prepared.onRelease { close(lock) }
            data = entry + "/data"
            if !FileManager.default.fileExists(atPath: data) {
                // Made once, under the exclusive lock (then converted to what `sharing` asks), and
                // under a temporary name, so a build that dies half-way leaves no half cache.
                try await Self.flockOffPool(lock, LOCK_EX, entry)
                if !FileManager.default.fileExists(atPath: data) {
                    let partial = entry + "/data.partial"
                    try? FileManager.default.removeItem(atPath: partial)
                    try makeCacheData(partial, mount: mount, run: run)
                    try await seedCache(partial, mount: mount, run: run)
                    try sys("rename", data) { rename(partial, data) }
                    _ = FileManager.default.createFile(atPath: entry + "/id", contents: Data((id + "\n").utf8))
                }
            }
            switch mount.sharing ?? .shared {
            case .shared: try await Self.flockOffPool(lock, LOCK_SH, entry)
            case .locked: try await Self.flockOffPool(lock, LOCK_EX, entry)
            case .private:
                if flock(lock, LOCK_EX | LOCK_NB) != 0 {
                    guard errno == EWOULDBLOCK else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                    log.info("\(stageLabel) RUN: cache \(id) is in use; this step gets a private, empty one")
                    let fresh = try scratchDirectory("cache", prepared: prepared)
                    try makeCacheData(fresh + "/data", mount: mount, run: run)
                    prepared.mounts.append(StepMount(destination: target, kind: .bind(source: fresh + "/data", readOnly: mount.readOnly)))
                    return
                }
            }
        } catch let error as KilnError {
            throw error
        } catch {
            throw KilnError.at(run.location, "prepare cache \(id) in \(root)", cause: error)
        }
        prepared.mounts.append(StepMount(destination: target, kind: .bind(source: data, readOnly: mount.readOnly)))
    }

    /// A blocking flock waits on a thread of its own: platforms built at once must not fill the
    /// cooperative pool with waiters while the holder's task needs it to finish its step.
    static func flockOffPool(_ fd: Int32, _ operation: Int32, _ path: String) async throws {
        let err: Int32 = await withCheckedContinuation { continuation in
            startThread(named: "kiln-flock") {
                var result: Int32 = 0
                while flock(fd, operation) != 0 {
                    if errno != EINTR {
                        result = errno
                        break
                    }
                }
                continuation.resume(returning: result)
            }
        }
        if err != 0 { throw SystemCallError(operation: "lock \(path)", errno: err) }
    }

    private func makeCacheData(_ path: String, mount: RunMount, run: RunInstruction) throws {
        try sys("mkdir", path) { mkdir(path, 0o755) }
        try sys("chown", path) { chown(path, mount.uid ?? 0, mount.gid ?? 0) }
        try sys("chmod", path) { chmod(path, mode_t(mount.mode ?? 0o755)) }
    }

    /// A new cache starts as a copy of `from` (at `source`), BuildKit's base for the cache.
    private func seedCache(_ path: String, mount: RunMount, run: RunInstruction) async throws {
        guard let from = mount.from else { return }
        let tree = try await sourceTree(from: from, location: run.location)
        let base = BuildRoot(path: tree.directory)
        let relative = try base.resolve(mount.source ?? "/")
        guard let st = base.lstatIfPresent(relative), (st.st_mode & S_IFMT) == S_IFDIR else {
            throw KilnError.at(run.location, .notFound, "cache mount source \"\(mount.source ?? "/")\" is not a directory in \"\(from)\"")
        }
        let copier = FileCopier(root: BuildRoot(path: path), owner: nil, chmod: nil)
        try copier.copyContents(ofDirectory: base.hostPath(relative), relative: relative, into: "")
    }
}
