// The typed form of a Dockerfile line: one case per keyword, one payload struct per case.

/// One Dockerfile instruction with its flags and arguments parsed; nothing is expanded yet
/// (see `expanded(environment:)`), so words keep their quotes and `$VARIABLES`.
public enum Instruction: Sendable, Hashable {
    case from(FromInstruction)
    case run(RunInstruction)
    case copy(CopyInstruction)
    case add(AddInstruction)
    case env(EnvInstruction)
    case arg(ArgInstruction)
    case label(LabelInstruction)
    case workdir(WorkdirInstruction)
    case user(UserInstruction)
    case expose(ExposeInstruction)
    case volume(VolumeInstruction)
    case cmd(CmdInstruction)
    case entrypoint(EntrypointInstruction)
    case shell(ShellInstruction)
    case stopSignal(StopSignalInstruction)
    case healthcheck(HealthcheckInstruction)
    indirect case onbuild(OnbuildInstruction)
    case maintainer(MaintainerInstruction)

    /// Every keyword the parser knows, upper-cased, for "did you mean" suggestions.
    public static let keywords = [
        "FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "LABEL", "WORKDIR", "USER", "EXPOSE", "VOLUME",
        "CMD", "ENTRYPOINT", "SHELL", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD", "MAINTAINER",
    ]

    /// The upper-cased keyword (`COPY`).
    public var keyword: String {
        switch self {
        case .from: "FROM"
        case .run: "RUN"
        case .copy: "COPY"
        case .add: "ADD"
        case .env: "ENV"
        case .arg: "ARG"
        case .label: "LABEL"
        case .workdir: "WORKDIR"
        case .user: "USER"
        case .expose: "EXPOSE"
        case .volume: "VOLUME"
        case .cmd: "CMD"
        case .entrypoint: "ENTRYPOINT"
        case .shell: "SHELL"
        case .stopSignal: "STOPSIGNAL"
        case .healthcheck: "HEALTHCHECK"
        case .onbuild: "ONBUILD"
        case .maintainer: "MAINTAINER"
        }
    }

    var payload: any InstructionPayload {
        switch self {
        case .from(let p): p
        case .run(let p): p
        case .copy(let p): p
        case .add(let p): p
        case .env(let p): p
        case .arg(let p): p
        case .label(let p): p
        case .workdir(let p): p
        case .user(let p): p
        case .expose(let p): p
        case .volume(let p): p
        case .cmd(let p): p
        case .entrypoint(let p): p
        case .shell(let p): p
        case .stopSignal(let p): p
        case .healthcheck(let p): p
        case .onbuild(let p): p
        case .maintainer(let p): p
        }
    }

    /// Where the instruction starts (keyword's line and column) and the line it ends on.
    public var location: SourceLocation { payload.location }

    /// The instruction as written, continuations joined (for history `created_by`).
    public var original: String { payload.original }
}

/// What every payload carries.
protocol InstructionPayload: Sendable {
    var location: SourceLocation { get }
    var original: String { get }
}

/// A command given in shell form (`RUN make all`, run by the stage's SHELL) or exec form
/// (`RUN ["make", "all"]`, run directly).
public enum CommandForm: Sendable, Hashable {
    case shell(String)
    case exec([String])
}

/// The body of a `<<EOF` heredoc.
public struct Heredoc: Sendable, Hashable {
    /// The delimiter word, quotes removed; for COPY/ADD also the file's name.
    public var name: String
    /// The descriptor in `3<<EOF`, when one is written.
    public var fileDescriptor: Int?
    /// The lines between the instruction and the delimiter, each with its newline; leading
    /// tabs already removed for `<<-`.
    public var content: String
    /// `false` when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is taken
    /// literally; otherwise COPY/ADD bodies get variable expansion.
    public var expands: Bool
    /// `<<-`: leading tabs were stripped from the body and the delimiter line.
    public var stripsTabs: Bool

    public init(name: String, fileDescriptor: Int? = nil, content: String, expands: Bool, stripsTabs: Bool) {
        self.name = name
        self.fileDescriptor = fileDescriptor
        self.content = content
        self.expands = expands
        self.stripsTabs = stripsTabs
    }
}

/// A `key=value` pair of ENV or LABEL; both words are kept as written until expanded.
public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
