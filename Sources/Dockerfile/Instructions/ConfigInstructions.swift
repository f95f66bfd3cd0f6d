// Payloads of the instructions that change only the image config or the build environment.

/// `ENV key=value …` or the legacy `ENV key value`.
public struct EnvInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var pairs: [KeyValue]
}

/// One name of an `ARG` line, with its default as written.
public struct ArgDeclaration: Sendable, Hashable {
    public var name: String
    /// `nil` for `ARG NAME` (the value comes from `--build-arg` or the global scope).
    public var defaultValue: String?

    public init(name: String, defaultValue: String?) {
        self.name = name
        self.defaultValue = defaultValue
    }
}

/// `ARG NAME[=default] …`.
public struct ArgInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var arguments: [ArgDeclaration]
}

/// `LABEL key=value …`.
public struct LabelInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var pairs: [KeyValue]
}

/// `WORKDIR <path>`.
public struct WorkdirInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var path: String
}

/// `USER <user>[:<group>]`.
public struct UserInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var user: String
}

/// `EXPOSE <port>[/<proto>] …`, ports in the order written.
public struct ExposeInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var ports: [String]
}

/// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
public struct VolumeInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var paths: [String]
}

/// `CMD`: the default command. `CMD []` is `.exec([])`.
public struct CmdInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var command: CommandForm
}

/// `ENTRYPOINT`. `ENTRYPOINT []` (or an empty line) is `.exec([])` and clears the entrypoint.
public struct EntrypointInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var command: CommandForm
}

/// `SHELL ["executable", "parameters"]` (JSON form only).
public struct ShellInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var shell: [String]
}

/// `STOPSIGNAL <signal>`.
public struct StopSignalInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var signal: String
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD <command>`.
public struct HealthcheckInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var check: Check

    public enum Check: Sendable, Hashable {
        /// Disable any healthcheck inherited from the base image (config `Test: ["NONE"]`).
        case none
        case command(HealthcheckCommand)
    }
}

/// The options and test of `HEALTHCHECK CMD`. Durations are nanoseconds; `nil` means not
/// given (the runtime default applies).
public struct HealthcheckCommand: Sendable, Hashable {
    /// Shell form becomes config `Test: ["CMD-SHELL", cmd]`, exec form `["CMD", args…]`.
    public var command: CommandForm
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    /// The config `Healthcheck.Test` array Docker writes for this command.
    public var test: [String] {
        switch command {
        case .shell(let line): ["CMD-SHELL", line]
        case .exec(let args): ["CMD"] + args
        }
    }
}

/// `ONBUILD <instruction>`: stored in the image config as `expression`, run by builds that use
/// this image as a base.
public struct OnbuildInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    /// The trigger parsed (never ONBUILD, FROM or MAINTAINER).
    public var trigger: Instruction
    /// The trigger's text for config `OnBuild` (heredoc bodies appended as BuildKit does).
    public var expression: String
}

/// `MAINTAINER <name>` (deprecated; sets config `author`).
public struct MaintainerInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var name: String
}
