// Rules checked as each instruction of a stage is walked, with the stage's variables in scope
// (BuildKit dockerfile2llb/convert.go `dispatch*` and validations.go).

extension Checker {
    mutating func check(_ instruction: Instruction, scope: inout StageScope, tracker: inout SingleUseTracker, global: [String: String]?) {
        let location = instruction.location
        func words(_ list: [String]) {
            for word in list { expand(word, scope: scope, at: location) }
        }
        switch instruction {
        case .env(let env):
            checkLegacyKeyValue(env.original, at: location)
            var added: [String: String] = [:]
            for pair in env.pairs {
                let key = expand(pair.key, scope: scope, at: location) ?? pair.key
                added[key] = expand(pair.value, scope: scope, at: location) ?? ""
                checkSecretName("ENV", key, at: location)
            }
            scope.environment.merge(added) { _, new in new }
        case .label(let label):
            checkLegacyKeyValue(label.original, at: location)
            for pair in label.pairs { words([pair.key, pair.value]) }
        case .arg(let arg):
            for declaration in arg.arguments {
                checkSecretName("ARG", declaration.name, at: location)
                var value = buildArgs[declaration.name]
                if value == nil, let defaultValue = declaration.defaultValue {
                    value = expand(defaultValue, scope: scope, at: location) ?? ""
                } else if value == nil {
                    value = global?[declaration.name]
                }
                if let value { scope.environment[declaration.name] = value }
                scope.declaredArguments.insert(declaration.name)
            }
        case .copy(let copy):
            words([copy.chown, copy.chmod].compactMap { $0 })
            sources(copy.sources, scope: scope, at: location)
            words([copy.destination])
        case .add(let add):
            words([add.chown, add.chmod, add.checksum].compactMap { $0 })
            sources(add.sources, scope: scope, at: location)
            words([add.destination])
        case .workdir(let workdir):
            let path = expand(workdir.path, scope: scope, at: location) ?? workdir.path
            if !scope.workdirSet && !path.hasPrefix("/") {
                warn(
                    .workdirRelativePath, "Relative workdir \"\(path)\" can have unexpected results if the base image changes", at: location
                )
            }
            scope.workdirSet = true
        case .run(let run):
            for mount in run.mounts {
                _ = try? RunMount(parsing: mount.raw) { word in
                    self.expand(word, scope: scope, at: location) ?? word
                }
            }
        case .user(let user): words([user.user])
        case .volume(let volume): words(volume.paths)
        case .stopSignal(let signal): words([signal.signal])
        case .expose(let expose): checkExpose(expose, scope: scope)
        case .shell: scope.shellSet = true
        case .cmd(let cmd):
            useOnce(instruction, tracker: &tracker)
            jsonArgs(cmd.command, instruction, scope: scope)
        case .entrypoint(let entrypoint):
            useOnce(instruction, tracker: &tracker)
            jsonArgs(entrypoint.command, instruction, scope: scope)
        case .healthcheck: useOnce(instruction, tracker: &tracker)
        case .from, .onbuild, .maintainer: break
        }
    }

    private mutating func sources(_ sources: [CopySource], scope: StageScope, at location: SourceLocation) {
        for source in sources {
            switch source {
            case .path(let path): expand(path, scope: scope, at: location)
            case .heredoc(let heredoc) where heredoc.expands:
                expand(heredoc.content, scope: scope, at: location, lexer: .heredocBody)
            case .heredoc: break
            }
        }
    }

    /// MultipleInstructionsDisallowed: reported at the earlier instruction, the one ignored.
    private mutating func useOnce(_ instruction: Instruction, tracker: inout SingleUseTracker) {
        let keyword = Self.writtenKeyword(instruction.original)
        if let earlier = tracker.last[instruction.keyword] {
            warn(
                .multipleInstructionsDisallowed,
                "Multiple \(keyword) instructions should not be used in the same stage because only the last one will be used", at: earlier)
        }
        tracker.last[instruction.keyword] = instruction.location
    }

    /// JSONArgsRecommended: shell form CMD/ENTRYPOINT, unless a SHELL instruction chose the
    /// shell (in this stage or the stage it is based on).
    private mutating func jsonArgs(_ command: CommandForm, _ instruction: Instruction, scope: StageScope) {
        guard case .shell = command, !scope.shellSet else { return }
        let keyword = Self.writtenKeyword(instruction.original)
        warn(
            .jsonArgsRecommended, "JSON arguments recommended for \(keyword) to prevent unintended behavior related to OS signals",
            at: instruction.location)
    }

    /// LegacyKeyValueFormat: `ENV key value` rather than `ENV key=value` (the parser's own
    /// test: the first word has no `=`).
    private mutating func checkLegacyKeyValue(_ original: String, at location: SourceLocation) {
        guard let first = Words.quoted(writtenArguments(original), escape: file.escape).first, !first.contains("=") else { return }
        let keyword = Self.writtenKeyword(original)
        warn(
            .legacyKeyValueFormat, "\"\(keyword) key=value\" should be used instead of legacy \"\(keyword) key value\" format", at: location
        )
    }

    /// SecretsUsedInArgOrEnv, BuildKit's test: one `_`-separated part of the name is a secret
    /// word and none is an allowed one (`PUBLIC_KEY`, `PASSWORD_FILE`, `TOKEN_VERSION`).
    private mutating func checkSecretName(_ keyword: String, _ name: String, at location: SourceLocation) {
        let parts = Set(name.lowercased().split(separator: "_", omittingEmptySubsequences: false).map(String.init))
        guard !parts.isDisjoint(with: Self.secretWords), parts.isDisjoint(with: Self.allowedWords) else { return }
        warn(.secretsUsedInArgOrEnv, "Do not use ARG or ENV instructions for sensitive data (\(keyword) \"\(name)\")", at: location)
    }

    static let secretWords: Set<String> = [
        "apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token",
    ]
    static let allowedWords: Set<String> = ["public", "file", "version"]

    /// ExposeProtoCasing and ExposeInvalidFormat, on the expanded `[ip:][host:]port[/proto]`.
    private mutating func checkExpose(_ expose: ExposeInstruction, scope: StageScope) {
        for raw in expose.ports {
            var processor = WordProcessor(lexer: lexer, text: raw, environment: scope.environment)
            let port = (try? processor.process().result) ?? raw
            let slash = port.lastIndex(of: "/")
            let proto = slash.map { String(port[port.index(after: $0)...]) } ?? ""
            if proto != proto.lowercased() {
                warn(.exposeProtoCasing, "Defined protocol '\(port)' in EXPOSE instruction should be lowercase", at: expose.location)
            }
            if port[..<(slash ?? port.endIndex)].contains(":") {
                warn(
                    .exposeInvalidFormat, "EXPOSE instruction should not define an IP address or host-port mapping, found '\(port)'",
                    at: expose.location)
            }
        }
    }
}
