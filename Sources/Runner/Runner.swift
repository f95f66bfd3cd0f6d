// RUN execution: resolves the step (user, environment, executable, mount points) in Swift, then
// hands a fully prepared plan to the C child (CRunner), which does everything between clone and
// execve. See Runner+Spawn.swift for the process side.
import CKilnSys
import CRunner
import Glibc
import SystemCalls

/// Executes Dockerfile RUN steps in a build root.
public enum Runner {
    /// Why a step could not be started. A step that starts and fails is not an error: its exit
    /// status is returned.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case emptyCommand
        case rootUnusable(String, reason: String)
        case workingDirectoryMissing(String, root: String)
        case commandNotFound(String, searchPath: String, root: String)
        case user(UserDatabase.Error)
        /// The isolation could not be set up; `step` names what failed ("mount /proc in /tmp/root").
        case setup(step: String, errno: Int32)
        case mountPoint(String)
        case seccomp(String)
        case spawn(errno: Int32)

        public var description: String {
            switch self {
            case .emptyCommand:
                return "RUN has an empty command"
            case .rootUnusable(let root, let reason):
                return "the build root \(root) cannot be used: \(reason)"
            case .workingDirectoryMissing(let dir, let root):
                return "the working directory \(dir) does not exist in the build root \(root); WORKDIR must be created before RUN"
            case .commandNotFound(let name, let searchPath, let root):
                return
                    "executable \"\(name)\" not found in PATH \(searchPath) inside the build root \(root); use an absolute path or install it in an earlier step"
            case .user(let error):
                return error.description
            case .setup(let step, let errno):
                return "setting up the RUN step failed: \(step): \(errnoText(errno))"
            case .mountPoint(let reason):
                return "cannot prepare a mount point: \(reason)"
            case .seccomp(let reason):
                return "cannot build the seccomp filter: \(reason); is libseccomp installed?"
            case .spawn(let errno):
                return "cannot start the RUN step: clone: \(errnoText(errno))"
                    + (errno == EPERM ? "; chroot isolation needs root (CAP_SYS_ADMIN), or use --isolation none" : "")
            }
        }
    }

    /// The `PATH` a step gets when its environment has none (Docker's default).
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Runs one step and returns its exit status (128 + signal for a signal death). Each line of
    /// its stdout and stderr (interleaved as written) is passed to `output` without the newline.
    /// Everything the step left running is killed before this returns; mount points created
    /// for it are removed. Throws `Runner.Error` when the step cannot be started,
    /// `CancellationError` when the task is cancelled (the step is killed).
    public static func run(_ spec: RunSpec, output: @escaping @Sendable (String) -> Void) async throws -> Int32 {
        try await execute(spec, output: output).exitStatus
    }

    /// `run`, also reporting the mount points created for the step.
    public static func execute(_ spec: RunSpec, output: @escaping @Sendable (String) -> Void) async throws -> RunOutcome {
        guard let command = spec.argv.first, !command.isEmpty else { throw Error.emptyCommand }
        let rootPath = spec.effectiveRoot
        let root: RootedDirectory
        do {
            root = try RootedDirectory(path: rootPath)
        } catch {
            throw Error.rootUnusable(rootPath, reason: error.description)
        }
        let identity: UserDatabase.Identity
        do {
            identity = try UserDatabase(root: rootPath).resolve(spec.user)
        } catch {
            throw Error.user(error)
        }
        let environment = stepEnvironment(spec.environment, home: identity.home)
        let workdir = spec.workingDirectory.isEmpty ? "/" : spec.workingDirectory
        guard let st = try? root.stat(workdir), (st.st_mode & S_IFMT) == S_IFDIR else {
            throw Error.workingDirectoryMissing(workdir, root: rootPath)
        }
        let searchPath = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? defaultPath
        let executable = try resolveExecutable(command, searchPath: searchPath, workdir: workdir, root: root)

        var plan = ChildPlan(
            isolated: spec.mode == .chroot, newNetwork: spec.network == .none,
            root: rootPath, path: executable, argv: spec.argv, environment: environment, workdir: workdir,
            hostname: spec.hostname, uid: identity.uid, gid: identity.gid, groups: identity.groups, binds: [], bpf: nil)
        guard plan.isolated else { return try await executeInPlace(spec, plan: plan, root: root, output: output) }
        switch SeccompFilter.program {
        case .success(let bpf): plan.bpf = bpf
        case .failure(let error): throw Error.seccomp(error.description)
        }
        let mountPoints = MountPoints(root: root)
        let files: StepFiles
        do {
            files = try StepFiles(hostname: spec.hostname)
        } catch {
            throw Error.mountPoint(error.description)
        }
        defer { files.remove() }
        var status: Int32 = 0
        var removal: (removed: [String], kept: [String]) = ([], [])
        do {
            defer { removal = mountPoints.removeCreated() }
            plan.binds = try prepareMounts(spec, files: files, mountPoints: mountPoints)
            status = try await spawnAndWait(plan, output: output)
        }
        return RunOutcome(exitStatus: status, createdForMount: removal.removed, keptAfterRun: removal.kept)
    }

    /// Mount points for /proc, /dev, /sys, the /etc files and the caller's binds; returns the binds.
    static func prepareMounts(_ spec: RunSpec, files: StepFiles, mountPoints: MountPoints) throws -> [ChildPlan.Bind] {
        do {
            for dir in ["/proc", "/dev", "/sys"] where try !mountPoints.ensure(dir, directory: true) {
                throw SystemCallError(operation: "\(dir) in \(spec.root) is a dangling symlink", errno: ENOENT)
            }
            var binds: [ChildPlan.Bind] = []
            for (name, source) in files.sources where try mountPoints.ensure("/etc/\(name)", directory: false) {
                binds.append(.init(source: source, target: "/etc/\(name)", readOnly: true))
            }
            let extra = spec.binds.map { StepMount(destination: $0.destination, kind: .bind(source: $0.source, readOnly: $0.readOnly)) }
            return binds + (try stepBinds(extra + spec.mounts, mountPoints: mountPoints))
        } catch let error as SystemCallError {
            throw Error.mountPoint(error.description)
        }
    }

    /// In place: the step's `RUN --mount`s are made at `/` in a mount namespace of its own; their
    /// mount points are created in `/` and removed again, as in chroot mode.
    static func executeInPlace(
        _ spec: RunSpec, plan: ChildPlan, root: RootedDirectory, output: @escaping @Sendable (String) -> Void
    ) async throws -> RunOutcome {
        guard !spec.mounts.isEmpty else {
            return RunOutcome(exitStatus: try await spawnInPlace(plan, output: output), createdForMount: [], keptAfterRun: [])
        }
        var plan = plan
        let mountPoints = MountPoints(root: root)
        var status: Int32 = 0
        var removal: (removed: [String], kept: [String]) = ([], [])
        do {
            defer { removal = mountPoints.removeCreated() }
            do {
                plan.binds = try stepBinds(spec.mounts, mountPoints: mountPoints)
            } catch let error as SystemCallError {
                throw Error.mountPoint(error.description)
            }
            status = try await spawnInPlace(plan, output: output)
        }
        return RunOutcome(exitStatus: status, createdForMount: removal.removed, keptAfterRun: removal.kept)
    }

    /// In place, only `RUN --mount` and `--network=none` need namespaces; say so when the
    /// container does not allow them.
    private static func spawnInPlace(_ plan: ChildPlan, output: @escaping @Sendable (String) -> Void) async throws -> Int32 {
        do {
            return try await spawnAndWait(plan, output: output)
        } catch Error.spawn(let errno) where errno == EPERM && (plan.newNetwork || !plan.binds.isEmpty) {
            let what = plan.binds.isEmpty ? "RUN --network=none" : "RUN --mount"
            throw Error.setup(step: "\(what) in place needs a namespace of the step's own (CAP_SYS_ADMIN)", errno: errno)
        }
    }

    /// Creates the mount points of `mounts` (a bind's as its source's kind, a tmpfs's as a
    /// directory) and returns what the child mounts there.
    static func stepBinds(_ mounts: [StepMount], mountPoints: MountPoints) throws(SystemCallError) -> [ChildPlan.Bind] {
        var binds: [ChildPlan.Bind] = []
        for mount in mounts {
            switch mount.kind {
            case .bind(let path, let readOnly):
                let source = try sys("open the bind source \(path)") { open(path, KILN_O_PATH | O_CLOEXEC) }
                defer { close(source) }
                var st = Glibc.stat()
                try sys("stat the bind source \(path)") { fstat(source, &st) }
                if try mountPoints.ensure(mount.destination, directory: (st.st_mode & S_IFMT) == S_IFDIR) {
                    binds.append(.init(source: path, target: mount.destination, readOnly: readOnly))
                }
            case .tmpfs(let size):
                if try mountPoints.ensure(mount.destination, directory: true) {
                    let options = "mode=1777" + (size.map { ",size=\($0)" } ?? "")
                    binds.append(.init(source: "tmpfs", target: mount.destination, readOnly: false, tmpfsOptions: options))
                }
            }
        }
        return binds
    }

    /// The caller's environment plus `HOME` and `PATH` when missing.
    static func stepEnvironment(_ given: [String], home: String) -> [String] {
        var environment = given
        if !given.contains(where: { $0.hasPrefix("HOME=") }) { environment.append("HOME=\(home)") }
        if !given.contains(where: { $0.hasPrefix("PATH=") }) { environment.append("PATH=\(defaultPath)") }
        return environment
    }

    /// `name` with a slash is used as is; otherwise the first regular, executable match in
    /// `searchPath`, looked up inside the root.
    static func resolveExecutable(_ name: String, searchPath: String, workdir: String, root: RootedDirectory) throws -> String {
        if name.contains("/") { return name }
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let base = dir.isEmpty ? workdir : dir.hasPrefix("/") ? String(dir) : workdir + "/" + dir
            let candidate = base.hasSuffix("/") ? base + name : base + "/" + name
            guard let st = try? root.stat(candidate) else { continue }
            if (st.st_mode & S_IFMT) == S_IFREG && (st.st_mode & 0o111) != 0 { return candidate }
        }
        throw Error.commandNotFound(name, searchPath: searchPath, root: root.path)
    }
}
