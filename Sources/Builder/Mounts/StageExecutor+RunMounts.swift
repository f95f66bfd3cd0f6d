// `RUN --mount`: the host side of each mount (a directory, a file or a socket the Runner binds,
// or a tmpfs), prepared before the step and released after it. Nothing here writes into the
// build root: the Runner creates the mount points and removes those it created, so no mount's
// content or mount point becomes layer content.
import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import PluginAPI
import PluginSupport
import Runner
import SystemCalls

/// What one RUN's mounts need while the step runs, and what is undone after it.
final class PreparedMounts {
    /// For the Runner, in the Dockerfile's order.
    var mounts: [StepMount] = []
    /// `KEY=value` entries the mounts add to the step's environment (secret `env=`,
    /// `SSH_AUTH_SOCK`). They go to that one process only, never to the image's config.
    var environment: [String] = []
    private var undo: [() -> Void] = []

    func onRelease(_ action: @escaping () -> Void) { undo.append(action) }

    /// Removes temporary copies and secrets, releases cache locks; newest first, once.
    func release() {
        for action in undo.reversed() { action() }
        undo = []
    }
}

extension StageExecutor {
    /// Prepares every `--mount` of `run`. On a failure, what was prepared so far is released.
    func prepareMounts(_ run: RunInstruction) async throws -> PreparedMounts {
        let prepared = PreparedMounts()
        do {
            var sshCount = 0
            for mount in run.mounts {
                switch mount.type {
                case .bind: try await prepareBind(mount, run: run, into: prepared)
                case .cache: try await prepareCache(mount, run: run, into: prepared)
                case .tmpfs:
                    prepared.mounts.append(StepMount(destination: try mountTarget(mount, run), kind: .tmpfs(size: mount.sizeLimit)))
                case .secret: try prepareSecret(mount, run: run, into: prepared)
                case .ssh:
                    try prepareSSH(mount, index: sshCount, run: run, into: prepared)
                    sshCount += 1
                }
            }
        } catch {
            prepared.release()
            throw error
        }
        // Parents before children (a cache inside a tmpfs), as Docker orders a container's mounts.
        let depth = { (mount: StepMount) in mount.destination.split(separator: "/").count }
        prepared.mounts = prepared.mounts.enumerated().sorted { a, b in
            depth(a.element) != depth(b.element) ? depth(a.element) < depth(b.element) : a.offset < b.offset
        }.map(\.element)
        return prepared
    }

    /// The absolute target: relative targets are taken from the working directory (BuildKit).
    func mountTarget(_ mount: RunMount, _ run: RunInstruction, default fallback: String? = nil) throws -> String {
        guard let written = mount.target ?? fallback, !written.isEmpty else {
            throw KilnError.at(
                run.location, .invalidInput, "invalid mount target \"\": target is required for \(mount.type.rawValue) mounts")
        }
        let absolute = written.hasPrefix("/") ? written : state.workingDirectory + "/" + written
        let clean = "/" + BuildRoot.relative(absolute)
        guard clean != "/" else { throw KilnError.at(run.location, .invalidInput, "invalid mount target \"/\"") }
        return clean
    }

    /// `type=bind`: a directory or file of the context, a stage or an image, read-only unless
    /// `rw`, whose writes go to a throwaway copy. A context with a `.dockerignore` is bound
    /// through a copy too, so the step never sees what the ignore file leaves out.
    private func prepareBind(_ mount: RunMount, run: RunInstruction, into prepared: PreparedMounts) async throws {
        let target = try mountTarget(mount, run)
        let tree = try await sourceTree(from: mount.from, location: run.location)
        let host = try mountSource(mount, in: tree.directory, run: run)
        let filtered = mount.from == nil && tree.ignore != nil
        guard !mount.readOnly || filtered else {
            prepared.mounts.append(StepMount(destination: target, kind: .bind(source: host.path, readOnly: true)))
            return
        }
        let scratch = try scratchDirectory("bind", prepared: prepared)
        let copier = FileCopier(root: BuildRoot(path: scratch), owner: nil, chmod: nil)
        if filtered { copier.excludes = { rel, isDirectory in tree.isExcluded(rel, isDirectory: isDirectory) } }
        let copy: String
        do {
            if host.isDirectory {
                try copier.copyContents(ofDirectory: host.path, relative: host.relative, into: "")
                copy = scratch
            } else {
                let name = BuildRoot.lastComponent(of: host.path)
                try copier.copy(source: host.path, relative: host.relative, to: "/" + name, intoDirectory: false)
                copy = scratch + "/" + name
            }
        } catch {
            throw KilnError.at(run.location, "copy the mount source \(mount.source ?? "/")", cause: error)
        }
        prepared.mounts.append(StepMount(destination: target, kind: .bind(source: copy, readOnly: mount.readOnly)))
    }

    /// `source=` resolved inside `directory` (symlinks never lead out of it); it must exist.
    private func mountSource(_ mount: RunMount, in directory: String, run: RunInstruction) throws -> (
        path: String, relative: String, isDirectory: Bool
    ) {
        let tree = BuildRoot(path: directory)
        let relative = try tree.resolve(mount.source ?? "/")
        guard let st = tree.lstatIfPresent(relative) else {
            let origin = mount.from.map { "\"\($0)\"" } ?? "the build context"
            throw KilnError.at(run.location, .notFound, "mount source \"\(mount.source ?? "/")\" not found in \(origin)")
        }
        return (tree.hostPath(relative), relative, (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// A private directory for one step's temporary mount sources, removed when it is released.
    /// Secrets go to /dev/shm where it exists (memory, never the disk), else kiln's working
    /// directory (never snapshotted, also in place).
    func scratchDirectory(_ kind: String, prepared: PreparedMounts, inMemory: Bool = false) throws -> String {
        var bases = [session.workDirectory]
        if inMemory { bases.insert("/dev/shm", at: 0) }
        var lastError: Int32 = 0
        for base in bases {
            var template = Array("\(base)/kiln-\(kind)-XXXXXX".utf8CString)
            if template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) != nil {
                let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
                prepared.onRelease { try? FileManager.default.removeItem(atPath: path) }
                return path
            }
            lastError = errno
        }
        let cause = POSIXError(POSIXErrorCode(rawValue: lastError) ?? .EIO)
        throw KilnError(.failed, "cannot create a directory for a RUN --mount in \(bases.last ?? "")", cause: cause)
    }

    /// `type=secret`: the secret's bytes as a file (mode 0400 and 0:0 unless `mode`, `uid`, `gid`
    /// say otherwise) at `target`, default `/run/secrets/<id>`, or, with `env=` and no target,
    /// only as that environment variable. A secret nobody passed is skipped unless `required`.
    private func prepareSecret(_ mount: RunMount, run: RunInstruction, into prepared: PreparedMounts) throws {
        let id = mount.source ?? mount.id ?? mount.target.map(BuildRoot.lastComponent(of:)) ?? ""
        guard let secret = session.options.execution.runMounts.secrets[id] else {
            guard !mount.required else {
                throw KilnError.at(run.location, .notFound, "secret \(id): not found (pass it with --secret id=\(id),src=FILE or env=NAME)")
            }
            log.debug("\(stageLabel) RUN: secret \(id) was not passed; its mount is left out")
            return
        }
        if let env = mount.env { prepared.environment.append(env + "=" + String(decoding: secret.bytes, as: UTF8.self)) }
        if mount.env != nil && mount.target == nil { return }
        let target = try mountTarget(mount, run, default: "/run/secrets/" + BuildRoot.lastComponent(of: id))
        let directory = try scratchDirectory("secret", prepared: prepared, inMemory: true)
        let path = directory + "/secret"
        do {
            let fd = try sys("create", path) { open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600) }
            defer { close(fd) }
            var remaining = secret.bytes[...]
            while !remaining.isEmpty {
                let count = try sys("write", path) { remaining.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
                remaining = remaining.dropFirst(count)
            }
            try sys("chown", path) { fchown(fd, mount.uid ?? 0, mount.gid ?? 0) }
            try sys("chmod", path) { fchmod(fd, mode_t(mount.mode ?? 0o400)) }
        } catch {
            throw KilnError.at(run.location, "prepare secret \(id)", cause: error)
        }
        prepared.mounts.append(StepMount(destination: target, kind: .bind(source: path, readOnly: true)))
    }

    /// `type=ssh`: a socket relaying to the agent passed with `--ssh`, owned by `uid`:`gid`
    /// (0:0) with `mode` (0600) as BuildKit makes it, at `target` (default
    /// `/run/buildkit/ssh_agent.N`); the first one is `SSH_AUTH_SOCK` unless the stage sets it.
    private func prepareSSH(_ mount: RunMount, index: Int, run: RunInstruction, into prepared: PreparedMounts) throws {
        let id = mount.id ?? "default"
        guard let socket = session.options.execution.runMounts.sshAgents[id] else {
            guard !mount.required else {
                throw KilnError.at(
                    run.location, .notFound, "no SSH key \"\(id)\" forwarded from the client (pass it with --ssh \(id)=SOCKET)")
            }
            log.debug("\(stageLabel) RUN: ssh \(id) was not passed; its mount is left out")
            return
        }
        var st = stat()
        guard stat(socket, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw KilnError.at(run.location, .notFound, "--ssh \(id)=\(socket): not a socket")
        }
        let target = try mountTarget(mount, run, default: "/run/buildkit/ssh_agent.\(index)")
        let relay: AgentRelay
        do {
            let directory = try scratchDirectory("ssh", prepared: prepared, inMemory: true)
            relay = try AgentRelay(
                at: directory + "/agent.sock", agent: socket, uid: mount.uid ?? 0, gid: mount.gid ?? 0, mode: mode_t(mount.mode ?? 0o600))
        } catch {
            throw KilnError.at(run.location, "forward ssh agent \(id)", cause: error)
        }
        prepared.onRelease { relay.stop() }
        prepared.mounts.append(StepMount(destination: target, kind: .bind(source: relay.path, readOnly: false)))
        let stageSetsIt = state.runEnvironment.contains { $0.hasPrefix("SSH_AUTH_SOCK=") }
        if index == 0 && !stageSetsIt { prepared.environment.append("SSH_AUTH_SOCK=" + target) }
    }
}
