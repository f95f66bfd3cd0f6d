// Argument rules of each keyword (BuildKit `instructions/parse.go` and `parser/line_parsers.go`).

extension InstructionParser {
    func build(_ c: Context, heredocs: [Heredoc]) throws -> Instruction {
        let loc = c.location
        let original = c.original
        let args = c.arguments
        func flags(_ allowed: [(String, FlagSet.Kind)]) throws -> FlagSet {
            try FlagSet(c.flags, keyword: c.keyword, allowed: allowed, locate: c.locate)
        }
        func single() throws -> String {
            _ = try flags([])
            guard !args.isEmpty else { throw c.error("\(c.keyword) requires exactly one argument") }
            return args
        }
        switch c.keyword {
        case "FROM":
            let set = try flags([("platform", .string)])
            let words = Words.whitespaceSeparated(args)
            var name: String?
            if words.count == 3 && words[1].lowercased() == "as" {
                let lower = words[2].lowercased()
                guard Self.isValidStageName(lower) else {
                    throw c.error("invalid name for build stage: \"\(words[2])\", name can't start with a number or contain symbols")
                }
                name = lower
            } else if words.count != 1 {
                throw c.error("FROM requires either one or three arguments")
            }
            return .from(
                FromInstruction(location: loc, original: original, image: words[0], platform: set.string("platform"), stageName: name))
        case "RUN":
            return .run(
                try buildRun(c, heredocs: heredocs, flags: flags([("mount", .strings), ("network", .string), ("security", .string)])))
        case "COPY":
            let set = try flags([
                ("from", .string), ("chown", .string), ("chmod", .string), ("link", .bool), ("parents", .bool), ("exclude", .strings),
            ])
            let (sources, destination) = try sourcesAndDestination(c, heredocs: heredocs)
            return .copy(
                CopyInstruction(
                    location: loc, original: original, sources: sources, destination: destination, from: set.string("from"),
                    chown: set.string("chown"), chmod: set.string("chmod"), link: set.bool("link"), parents: set.bool("parents"),
                    excludes: set.all("exclude")))
        case "ADD":
            let set = try flags([
                ("chown", .string), ("chmod", .string), ("link", .bool), ("keep-git-dir", .bool), ("checksum", .string),
                ("unpack", .bool), ("exclude", .strings),
            ])
            let (sources, destination) = try sourcesAndDestination(c, heredocs: heredocs)
            return .add(
                AddInstruction(
                    location: loc, original: original, sources: sources, destination: destination, chown: set.string("chown"),
                    chmod: set.string("chmod"), link: set.bool("link"), excludes: set.all("exclude"),
                    checksum: set.string("checksum"), keepGitDir: set.bool("keep-git-dir"), unpack: set.optionalBool("unpack")))
        case "ENV":
            _ = try flags([])
            return .env(EnvInstruction(location: loc, original: original, pairs: try keyValues(c)))
        case "LABEL":
            _ = try flags([])
            return .label(LabelInstruction(location: loc, original: original, pairs: try keyValues(c)))
        case "ARG":
            _ = try flags([])
            let words = Words.quoted(args, escape: escape)
            guard !words.isEmpty else { throw c.error("ARG requires at least one argument") }
            let declarations = try words.map { word -> ArgDeclaration in
                guard let equals = word.firstIndex(of: "=") else { return ArgDeclaration(name: word, defaultValue: nil) }
                guard equals != word.startIndex else { throw c.error("ARG names can not be blank") }
                return ArgDeclaration(name: String(word[..<equals]), defaultValue: String(word[word.index(after: equals)...]))
            }
            return .arg(ArgInstruction(location: loc, original: original, arguments: declarations))
        case "WORKDIR": return .workdir(WorkdirInstruction(location: loc, original: original, path: try single()))
        case "USER": return .user(UserInstruction(location: loc, original: original, user: try single()))
        case "STOPSIGNAL":
            let signal = try single()
            if isPlain(signal), let problem = SignalName.problem(with: signal) { throw c.error("STOPSIGNAL: \(problem)") }
            return .stopSignal(StopSignalInstruction(location: loc, original: original, signal: signal))
        case "MAINTAINER": return .maintainer(MaintainerInstruction(location: loc, original: original, name: try single()))
        case "EXPOSE":
            _ = try flags([])
            let ports = Words.whitespaceSeparated(args)
            guard !ports.isEmpty else { throw c.error("EXPOSE requires at least one argument") }
            for port in ports where isPlain(port) {
                if let problem = PortSpec.problem(with: port) { throw c.error("EXPOSE: \(problem)") }
            }
            return .expose(ExposeInstruction(location: loc, original: original, ports: ports))
        case "VOLUME":
            _ = try flags([])
            let paths = try list(c).map { $0.trimmingWhitespace() }
            guard !paths.isEmpty else { throw c.error("VOLUME requires at least one argument") }
            if paths.contains("") { throw c.error("VOLUME specified can not be an empty string") }
            return .volume(VolumeInstruction(location: loc, original: original, paths: paths))
        case "CMD":
            _ = try flags([])
            return .cmd(CmdInstruction(location: loc, original: original, command: try commandLine(c, args) ?? .exec([])))
        case "ENTRYPOINT":
            _ = try flags([])
            return .entrypoint(EntrypointInstruction(location: loc, original: original, command: try commandLine(c, args) ?? .exec([])))
        case "SHELL":
            _ = try flags([])
            guard !args.isEmpty else { throw c.error("SHELL requires at least one argument") }
            guard case .exec(let shell)? = try commandLine(c, args) else {
                throw c.error("SHELL requires the arguments to be in JSON form, like SHELL [\"/bin/sh\", \"-c\"]")
            }
            guard !shell.isEmpty else { throw c.error("SHELL requires at least one argument") }
            return .shell(ShellInstruction(location: loc, original: original, shell: shell))
        case "HEALTHCHECK":
            return .healthcheck(try buildHealthcheck(c))
        default:
            throw c.error("unknown instruction '\(c.keyword)'")
        }
    }

    /// True when expansion cannot change `word` (no variable, quote or escape), so it can be
    /// checked now rather than when the builder expands it.
    func isPlain(_ word: String) -> Bool {
        !word.contains { $0 == "$" || $0 == "'" || $0 == "\"" || $0 == escape }
    }

    static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLowercase else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "-_.".contains($0)) }
    }

    /// Shell form or exec form; `nil` for an empty argument text.
    func commandLine(_ c: Context, _ text: String) throws -> CommandForm? {
        if text.isEmpty { return nil }
        switch Words.jsonArray(text) {
        case .array(let words): return .exec(words)
        case .notStrings: throw c.error("when using JSON array syntax, arrays must be comprised of strings only")
        case .notJSON: return .shell(text)
        case .tooDeep: throw Self.tooDeep(c)
        }
    }

    /// BuildKit reads such a line as shell form (Go's decoder gives up); a command nested
    /// that deep is a mistake, so kiln says where instead of running `/bin/sh -c '[[[…'`.
    static func tooDeep(_ c: Context) -> DockerfileError {
        c.error("\(c.keyword): JSON array nested deeper than \(JSONArray.maximumDepth) levels")
    }

    /// A JSON array or whitespace-separated words (COPY, ADD, VOLUME).
    func list(_ c: Context) throws -> [String] {
        switch Words.jsonArray(c.arguments) {
        case .array(let words): return words
        case .notStrings: throw c.error("when using JSON array syntax, arrays must be comprised of strings only")
        case .notJSON: return Words.whitespaceSeparated(c.arguments)
        case .tooDeep: throw Self.tooDeep(c)
        }
    }

    /// ENV and LABEL: `k=v k2="v 2"` or the legacy `k v`.
    func keyValues(_ c: Context) throws -> [KeyValue] {
        let words = Words.quoted(c.arguments, escape: escape)
        guard let first = words.first else { throw c.error("\(c.keyword) requires at least one argument") }
        if !first.contains("=") {
            let parts = Words.whitespaceSeparated(c.arguments, maxSplits: 1)
            guard parts.count == 2 else { throw c.error("\(c.keyword) must have two arguments") }
            return [KeyValue(key: parts[0], value: parts[1])]
        }
        return try words.map { word in
            guard let equals = word.firstIndex(of: "=") else {
                throw c.error("Syntax error - can't find = in \"\(word)\". Must be of the form: name=value")
            }
            guard equals != word.startIndex else { throw c.error("\(c.keyword) names can not be blank") }
            return KeyValue(key: String(word[..<equals]), value: String(word[word.index(after: equals)...]))
        }
    }

    func sourcesAndDestination(_ c: Context, heredocs: [Heredoc]) throws -> ([CopySource], String) {
        let words = try list(c)
        guard words.count >= 2 else {
            throw c.error("\(c.keyword) requires at least two arguments, but only one was provided. Destination could not be determined")
        }
        guard let destination = words.last else { throw c.error("\(c.keyword) requires a destination") }
        let isJSON: Bool
        if case .array = Words.jsonArray(c.arguments) { isJSON = true } else { isJSON = false }
        if !isJSON, try Self.heredocMarker(destination, at: c.location) != nil {
            throw c.error("\(c.keyword) cannot accept a heredoc as a destination")
        }
        let sources = try words.dropLast().map { word -> CopySource in
            if !isJSON, let marker = try Self.heredocMarker(word, at: c.location) {
                guard let body = heredocs.first(where: { $0.name == marker.name }) else {
                    throw c.error("unterminated heredoc '\(marker.name)'")
                }
                return .heredoc(body)
            }
            return .path(word)
        }
        return (sources, destination)
    }

    func buildRun(_ c: Context, heredocs: [Heredoc], flags set: FlagSet) throws -> RunInstruction {
        guard let command = try commandLine(c, c.arguments) else { throw c.error("RUN requires at least one argument") }
        let offsets = set.valueOffsets["mount"] ?? []
        let mounts = try set.all("mount").enumerated().map { index, value in
            do {
                return try RunMount(parsing: value, expand: { $0 })
            } catch let error as MountError {
                let offset = index < offsets.count ? offsets[index] : c.keywordOffset
                throw DockerfileError(error.message, at: c.locate(offset), suggestion: error.suggestion)
            }
        }
        var network: RunInstruction.NetworkMode?
        if let value = set.string("network") {
            guard let mode = RunInstruction.NetworkMode(rawValue: value) else {
                throw DockerfileError(
                    "invalid network mode \"\(value)\"", at: c.locate(set.offsets["network"] ?? c.keywordOffset),
                    suggestion: Suggestion.nearest(to: value, in: RunInstruction.NetworkMode.allCases.map(\.rawValue)))
            }
            network = mode
        }
        var security: RunInstruction.SecurityMode?
        if let value = set.string("security") {
            guard let mode = RunInstruction.SecurityMode(rawValue: value) else {
                throw DockerfileError(
                    "security \"\(value)\" is not valid", at: c.locate(set.offsets["security"] ?? c.keywordOffset),
                    suggestion: Suggestion.nearest(to: value, in: RunInstruction.SecurityMode.allCases.map(\.rawValue)))
            }
            security = mode
        }
        return RunInstruction(
            location: c.location, original: c.original, command: command, heredocs: heredocs, mounts: mounts, network: network,
            security: security)
    }

    func buildHealthcheck(_ c: Context) throws -> HealthcheckInstruction {
        let args = c.arguments
        let type = args.prefix(while: { !$0.isWhitespace }).uppercased()
        let rest = String(args.drop(while: { !$0.isWhitespace })).trimmingWhitespace()
        guard !type.isEmpty else { throw c.error("HEALTHCHECK requires at least one argument") }
        if type == "NONE" {
            _ = try FlagSet(c.flags, keyword: c.keyword, allowed: [], locate: c.locate)
            guard rest.isEmpty else { throw c.error("HEALTHCHECK NONE takes no arguments") }
            return HealthcheckInstruction(location: c.location, original: c.original, check: .none)
        }
        let set = try FlagSet(
            c.flags, keyword: c.keyword,
            allowed: [
                ("interval", .string), ("timeout", .string), ("start-period", .string), ("start-interval", .string), ("retries", .string),
            ],
            locate: c.locate)
        guard type == "CMD" else { throw c.error("Unknown type \"\(type)\" in HEALTHCHECK (try CMD)") }
        guard let command = try commandLine(c, rest), command != .exec([]) else {
            throw c.error("Missing command after HEALTHCHECK CMD")
        }
        func duration(_ name: String) throws -> Int64? {
            guard let text = set.string(name), !text.isEmpty else { return nil }
            let here = c.locate(set.offsets[name] ?? c.keywordOffset)
            guard let value = GoDuration.nanoseconds(text) else {
                throw DockerfileError("invalid duration '\(text)' for --\(name): use a number with a unit, like 30s or 1m30s", at: here)
            }
            if value != 0 && value < 1_000_000 {
                throw DockerfileError("Interval \"\(name)\" cannot be less than 1ms", at: here)
            }
            return value
        }
        var retries: Int?
        if let text = set.string("retries"), !text.isEmpty {
            guard let value = Int32(text) else {
                throw DockerfileError(
                    "invalid value '\(text)' for --retries: expected an integer", at: c.locate(set.offsets["retries"] ?? 0))
            }
            guard value >= 0 else { throw c.error("--retries cannot be negative (\(value))") }
            retries = Int(value)
        }
        let check = HealthcheckCommand(
            command: command, interval: try duration("interval"), timeout: try duration("timeout"),
            startPeriod: try duration("start-period"), startInterval: try duration("start-interval"), retries: retries)
        return HealthcheckInstruction(location: c.location, original: c.original, check: .command(check))
    }
}
