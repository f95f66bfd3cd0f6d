// A stable text form of a parsed Dockerfile: one line per instruction with every field, for
// golden tests and `kiln` debugging output.

extension Dockerfile {
    /// One line per directive, meta ARG, stage and instruction. Strings are double-quoted with
    /// `\\`, `\"`, `\n`, `\t` escapes; each instruction starts with `line:column-endLine`.
    public var dump: String {
        var out: [String] = []
        for directive in directives { out.append("directive \(directive.name)=\(Self.quote(directive.value))") }
        if escape != "\\" { out.append("escape \(Self.quote(String(escape)))") }
        for arg in metaArgs { out.append("meta \(Instruction.arg(arg).dumpLine)") }
        for stage in stages {
            out.append("stage \(stage.index)" + (stage.name.map { " name=\(Self.quote($0))" } ?? ""))
            out.append("  " + Instruction.from(stage.from).dumpLine)
            for instruction in stage.instructions { out.append("  " + instruction.dumpLine) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for ch in text {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\r\n": out += "\\r\\n"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

extension Instruction {
    /// This instruction's line in `Dockerfile.dump`.
    public var dumpLine: String {
        let q = Dockerfile.quote
        let loc = location
        var parts = ["\(loc.line):\(loc.column)-\(loc.endLine)", keyword]
        func add(_ name: String, _ value: String?) { if let value { parts.append("\(name)=\(q(value))") } }
        func flag(_ name: String, _ on: Bool) { if on { parts.append(name) } }
        func list(_ name: String, _ values: [String]) { parts.append("\(name)=[\(values.map(q).joined(separator: ", "))]") }
        func command(_ line: CommandForm) {
            switch line {
            case .shell(let text): add("shell", text)
            case .exec(let args): list("exec", args)
            }
        }
        func heredoc(_ h: Heredoc) -> String {
            var text = "heredoc(name=\(q(h.name))"
            if let fd = h.fileDescriptor { text += " fd=\(fd)" }
            if !h.expands { text += " literal" }
            if h.stripsTabs { text += " strip-tabs" }
            return text + " content=\(q(h.content)))"
        }
        func sources(_ list: [CopySource]) {
            for source in list {
                switch source {
                case .path(let path): parts.append("src=\(q(path))")
                case .heredoc(let h): parts.append("src=" + heredoc(h))
                }
            }
        }
        switch self {
        case .from(let p):
            add("--platform", p.platform)
            add("image", p.image)
            add("as", p.stageName)
        case .run(let p):
            for mount in p.mounts { parts.append("--mount=" + mount.dumpText) }
            add("--network", p.network?.rawValue)
            add("--security", p.security?.rawValue)
            command(p.command)
            for h in p.heredocs { parts.append(heredoc(h)) }
        case .copy(let p):
            add("--from", p.from)
            add("--chown", p.chown)
            add("--chmod", p.chmod)
            flag("--link", p.link)
            flag("--parents", p.parents)
            for exclude in p.excludes { add("--exclude", exclude) }
            sources(p.sources)
            add("dest", p.destination)
        case .add(let p):
            add("--chown", p.chown)
            add("--chmod", p.chmod)
            flag("--link", p.link)
            for exclude in p.excludes { add("--exclude", exclude) }
            add("--checksum", p.checksum)
            flag("--keep-git-dir", p.keepGitDir)
            add("--unpack", p.unpack.map { String($0) })
            sources(p.sources)
            add("dest", p.destination)
        case .env(let p): for pair in p.pairs { parts.append("\(q(pair.key))=\(q(pair.value))") }
        case .label(let p): for pair in p.pairs { parts.append("\(q(pair.key))=\(q(pair.value))") }
        case .arg(let p):
            for a in p.arguments { parts.append(q(a.name) + (a.defaultValue.map { "=" + q($0) } ?? "")) }
        case .workdir(let p): add("path", p.path)
        case .user(let p): add("user", p.user)
        case .expose(let p): list("ports", p.ports)
        case .volume(let p): list("paths", p.paths)
        case .cmd(let p): command(p.command)
        case .entrypoint(let p): command(p.command)
        case .shell(let p): list("shell", p.shell)
        case .stopSignal(let p): add("signal", p.signal)
        case .healthcheck(let p):
            switch p.check {
            case .none: parts.append("NONE")
            case .command(let c):
                add("--interval", c.interval.map { "\($0)ns" })
                add("--timeout", c.timeout.map { "\($0)ns" })
                add("--start-period", c.startPeriod.map { "\($0)ns" })
                add("--start-interval", c.startInterval.map { "\($0)ns" })
                add("--retries", c.retries.map { String($0) })
                list("test", c.test)
            }
        case .onbuild(let p):
            add("expression", p.expression)
            parts.append("trigger=(\(p.trigger.dumpLine))")
        case .maintainer(let p): add("name", p.name)
        }
        return parts.joined(separator: " ")
    }
}

extension RunMount {
    /// Every field of the mount, normalised (`type=cache,target="/x",rw,…`).
    var dumpText: String {
        let q = Dockerfile.quote
        var fields = ["type=\(type.rawValue)"]
        if let from { fields.append("from=\(q(from))") }
        if let source { fields.append("source=\(q(source))") }
        if let target { fields.append("target=\(q(target))") }
        fields.append(readOnly ? "ro" : "rw")
        if let sizeLimit { fields.append("size=\(sizeLimit)") }
        if let id { fields.append("id=\(q(id))") }
        if let sharing { fields.append("sharing=\(sharing.rawValue)") }
        if required { fields.append("required") }
        if let mode { fields.append("mode=0" + String(mode, radix: 8)) }
        if let uid { fields.append("uid=\(uid)") }
        if let gid { fields.append("gid=\(gid)") }
        if let env { fields.append("env=\(q(env))") }
        return "(" + fields.joined(separator: ",") + ")"
    }
}
