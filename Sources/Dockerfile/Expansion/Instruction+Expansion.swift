// Which fields of which instruction Docker expands (BuildKit's `Expand` methods).

extension Instruction {
    /// This instruction with variables expanded and quotes removed in exactly the fields
    /// Docker expands: FROM (image, `--platform`), COPY/ADD (sources, destination, `--chown`,
    /// `--chmod`, ADD `--checksum`; heredoc bodies with an unquoted delimiter, quotes kept as
    /// text), ENV and LABEL (keys and values), EXPOSE, STOPSIGNAL, USER, VOLUME, WORKDIR, RUN
    /// `--mount` values. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER and ARG
    /// are returned unchanged (ARG defaults are expanded by `StageArguments.declare`).
    ///
    /// - Parameters:
    ///   - environment: what `$NAME` means here: the stage's ENV and ARG values (for FROM, the
    ///     global ARGs from `GlobalArguments`).
    ///   - escape: the Dockerfile's escape character (`Dockerfile.escape`).
    /// - Throws: `DockerfileError` at the instruction's location wrapping the `ShellLexer.Error`.
    public func expanded(environment: [String: String], escape: Character = "\\") throws -> Instruction {
        let lexer = ShellLexer(escape: escape)
        let location = self.location
        func word(_ text: String) throws -> String {
            do {
                return try lexer.expandWord(text, environment: environment)
            } catch let error as ShellLexer.Error {
                // The word may be huge (that can be the problem); quote its start only.
                let shown = text.count > 80 ? text.prefix(77) + "..." : text[...]
                throw DockerfileError("\(keyword): failed to expand \"\(shown)\": \(error)", at: location)
            }
        }
        func optional(_ text: String?) throws -> String? { try text.map(word) }
        func sources(_ list: [CopySource]) throws -> [CopySource] {
            try list.map { source in
                switch source {
                case .path(let path): return .path(try word(path))
                case .heredoc(var heredoc):
                    guard heredoc.expands else { return source }
                    do {
                        heredoc.content = try ShellLexer.heredocBody.expandWord(heredoc.content, environment: environment)
                    } catch let error as ShellLexer.Error {
                        throw DockerfileError("\(keyword): failed to expand heredoc '\(heredoc.name)': \(error)", at: location)
                    }
                    return .heredoc(heredoc)
                }
            }
        }
        func pairs(_ list: [KeyValue]) throws -> [KeyValue] {
            try list.map { KeyValue(key: try word($0.key), value: try word($0.value)) }
        }
        switch self {
        case .from(var from):
            from.image = try word(from.image)
            from.platform = try optional(from.platform)
            return .from(from)
        case .copy(var copy):
            copy.sources = try sources(copy.sources)
            copy.destination = try word(copy.destination)
            copy.chown = try optional(copy.chown)
            copy.chmod = try optional(copy.chmod)
            return .copy(copy)
        case .add(var add):
            add.sources = try sources(add.sources)
            add.destination = try word(add.destination)
            add.chown = try optional(add.chown)
            add.chmod = try optional(add.chmod)
            add.checksum = try optional(add.checksum)
            return .add(add)
        case .env(var env):
            env.pairs = try pairs(env.pairs)
            return .env(env)
        case .label(var label):
            label.pairs = try pairs(label.pairs)
            return .label(label)
        case .expose(var expose):
            expose.ports = try expose.ports.map(word)
            for port in expose.ports {
                if let problem = PortSpec.problem(with: port) { throw DockerfileError("EXPOSE: \(problem)", at: location) }
            }
            return .expose(expose)
        case .stopSignal(var signal):
            signal.signal = try word(signal.signal)
            if let problem = SignalName.problem(with: signal.signal) {
                throw DockerfileError("STOPSIGNAL: \(problem)", at: location)
            }
            return .stopSignal(signal)
        case .user(var user):
            user.user = try word(user.user)
            return .user(user)
        case .volume(var volume):
            volume.paths = try volume.paths.map(word)
            return .volume(volume)
        case .workdir(var workdir):
            workdir.path = try word(workdir.path)
            return .workdir(workdir)
        case .run(var run):
            run.mounts = try run.mounts.map { mount in
                do {
                    return try RunMount(parsing: mount.raw, expand: word)
                } catch let error as MountError {
                    throw DockerfileError(error.message, at: location, suggestion: error.suggestion)
                }
            }
            return .run(run)
        case .arg, .cmd, .entrypoint, .shell, .healthcheck, .onbuild, .maintainer:
            return self
        }
    }
}
