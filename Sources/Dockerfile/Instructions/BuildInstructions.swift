// Payloads of the instructions that produce filesystem changes or start a stage:
// FROM, RUN, COPY, ADD.

/// `FROM [--platform=<p>] <image> [AS <name>]`.
public struct FromInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    /// The base: an image reference, `scratch`, or the name of an earlier stage (may hold
    /// `$META_ARGS` until expanded).
    public var image: String
    /// `--platform`, as written.
    public var platform: String?
    /// The `AS` name, lower-cased (stage names are case-insensitive).
    public var stageName: String?
}

/// `RUN [--mount=…]… [--network=…] [--security=…] <command>`.
public struct RunInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var command: CommandForm
    /// Heredoc bodies named in the command (`RUN <<EOF` or `RUN python3 <<EOF`), in order.
    /// They are never expanded by kiln: the shell that runs them does that.
    public var heredocs: [Heredoc]
    public var mounts: [RunMount]
    /// `--network`; `nil` when not given (Docker's default).
    public var network: NetworkMode?
    /// `--security`; `nil` when not given (sandbox).
    public var security: SecurityMode?

    /// `--network=` values.
    public enum NetworkMode: String, Sendable, Hashable, CaseIterable {
        case `default`, none, host
    }

    /// `--security=` values.
    public enum SecurityMode: String, Sendable, Hashable, CaseIterable {
        case sandbox, insecure
    }
}

/// One source of COPY or ADD: a path (or URL, for ADD) or an inline heredoc file.
public enum CopySource: Sendable, Hashable {
    case path(String)
    case heredoc(Heredoc)
}

/// `COPY [--from=…] [--chown=…] [--chmod=…] [--link] [--parents] [--exclude=…]… <src>… <dest>`.
public struct CopyInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var sources: [CopySource]
    public var destination: String
    /// `--from`: a stage name, a stage index or an image reference. Never expanded (BuildKit
    /// refuses variables here).
    public var from: String?
    public var chown: String?
    public var chmod: String?
    public var link: Bool
    public var parents: Bool
    public var excludes: [String]
}

/// `ADD [--chown=…] [--chmod=…] [--link] [--exclude=…]… [--checksum=…] [--keep-git-dir]
/// [--unpack] <src>… <dest>`. (BuildKit has no `--parents` for ADD; neither has kiln.)
public struct AddInstruction: InstructionPayload, Sendable, Hashable {
    public var location: SourceLocation
    public var original: String
    public var sources: [CopySource]
    public var destination: String
    public var chown: String?
    public var chmod: String?
    public var link: Bool
    public var excludes: [String]
    /// `--checksum=sha256:…` for remote sources.
    public var checksum: String?
    public var keepGitDir: Bool
    /// `--unpack`: `nil` when not given (local archives are unpacked, remote ones are not).
    public var unpack: Bool?
}
