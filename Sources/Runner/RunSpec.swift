// What one RUN step executes and in which isolation; the builder fills it from the stage's
// SHELL, ENV, ARGs, USER and WORKDIR.
import Glibc

/// How a RUN step is isolated from the host.
public enum IsolationMode: String, Sendable, Hashable, CaseIterable {
    /// Fresh mount, PID, IPC and UTS namespaces with the step as PID 1, `/proc`, a minimal `/dev`
    /// (the only place where device nodes open), read-only `/sys`, bind-mounted `/etc/hosts`,
    /// `/etc/resolv.conf`, `/etc/hostname`, pivot_root into the build root, a seccomp filter
    /// and Docker's default capabilities less CAP_MKNOD and CAP_NET_RAW.
    case chroot
    /// kaniko's model, for when kiln itself is the container: the root is `/`, nothing is
    /// isolated; the step only gets its environment, user and working directory, and its own
    /// process group (killed when the step ends). `RUN --mount` adds a mount namespace of the
    /// step's own and `--network=none` a network namespace (both need CAP_SYS_ADMIN).
    case none
}

/// The network a RUN step sees.
public enum NetworkMode: String, Sendable, Hashable, CaseIterable {
    /// The host's network, like buildah's default for builds.
    case host
    /// A fresh network namespace with only `lo`, up.
    case none
}

/// A host path bind-mounted into the build root for the duration of a step.
public struct BindMount: Sendable, Hashable {
    /// Host path of the file or directory.
    public var source: String
    /// Absolute path inside the root; created (and reported) when missing.
    public var destination: String
    public var readOnly: Bool

    public init(source: String, destination: String, readOnly: Bool = true) {
        self.source = source
        self.destination = destination
        self.readOnly = readOnly
    }
}

/// A `RUN --mount` made for one step: in chroot mode inside the root, in place at `/` in the
/// step's own mount namespace. Either way it is gone when the step ends.
public struct StepMount: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A host file, directory or socket.
        case bind(source: String, readOnly: Bool)
        /// A fresh tmpfs; `size` in bytes (nil: the kernel's default, half the memory).
        case tmpfs(size: Int64?)
    }

    /// Absolute path inside the root; created when missing (and removed again after the step
    /// when the step left nothing in it).
    public var destination: String
    public var kind: Kind

    public init(destination: String, kind: Kind) {
        self.destination = destination
        self.kind = kind
    }
}

/// One RUN step.
public struct RunSpec: Sendable, Hashable {
    /// The full command line. Shell form is the caller's job (`SHELL` + the text); exec form is
    /// passed as is. `argv[0]` without a slash is looked up in the environment's `PATH`, inside
    /// the root.
    public var argv: [String]
    /// `KEY=value` entries: the stage's ENV plus the build ARGs. `HOME` and `PATH` are added
    /// when missing.
    public var environment: [String]
    /// Absolute path inside the root; it must exist (the builder creates WORKDIR).
    public var workingDirectory: String
    /// Dockerfile `USER`: `name`, `uid`, `name:group`, `uid:gid`; empty means root.
    public var user: String
    /// Host path of the build root. Ignored (always `/`) in `none` mode.
    public var root: String
    public var hostname: String
    public var mode: IsolationMode
    public var network: NetworkMode
    /// Extra bind mounts (chroot mode only).
    public var binds: [BindMount]
    /// `RUN --mount`s, in order, after `binds` (both modes).
    public var mounts: [StepMount]

    public init(
        argv: [String], environment: [String] = [], workingDirectory: String = "/", user: String = "",
        root: String, hostname: String = "kiln", mode: IsolationMode = .chroot, network: NetworkMode = .host,
        binds: [BindMount] = [], mounts: [StepMount] = []
    ) {
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.root = root
        self.hostname = hostname
        self.mode = mode
        self.network = network
        self.binds = binds
        self.mounts = mounts
    }

    /// The root the step really runs in, absolute.
    var effectiveRoot: String {
        if mode == .none { return "/" }
        if root.hasPrefix("/") { return root }
        let cwd = getcwd(nil, 0).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        }
        return (cwd ?? "") + "/" + root
    }
}

/// What a finished step left behind.
public struct RunOutcome: Sendable, Hashable {
    /// The step's exit code, or 128 + signal when a signal killed it.
    public var exitStatus: Int32
    /// Absolute paths inside the root that the Runner created only to mount over
    /// (e.g. `/etc/resolv.conf` in a scratch image) and removed again after the step. Snapshots
    /// taken while a step runs must ignore them; after `run` returns they are gone.
    public var createdForMount: [String]
    /// Directories from `createdForMount` the step put files into: they were kept, and belong
    /// to the step's changes now.
    public var keptAfterRun: [String]
}
