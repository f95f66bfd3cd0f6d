// `.dockerignore`: which context paths COPY and ADD never see (moby `patternmatcher` and
// `ignorefile` semantics).

/// A compiled `.dockerignore`.
///
/// Each line is a Go `filepath.Match` pattern with `**` (any number of directories); a line
/// starting with `!` is an exception that re-includes. Patterns are cleaned (`./a/` → `a`,
/// a leading `/` dropped) and evaluated in order, the last matching one deciding. A pattern
/// matching a directory also matches everything below it.
public struct DockerIgnore: Sendable, Hashable {
    let compiled: [IgnorePattern]

    /// The cleaned patterns, exceptions with their `!`.
    public var patterns: [String] { compiled.map { ($0.isException ? "!" : "") + $0.text } }

    /// Why patterns could not be compiled.
    public enum Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        case illegalExclusion
        case badPattern(String)

        public var description: String {
            switch self {
            case .illegalExclusion: return "illegal exclusion pattern: \"!\": write the path to re-include after the '!'"
            case .badPattern(let pattern): return "syntax error in .dockerignore pattern \"\(pattern)\": check its [ ] character class"
            }
        }
    }

    /// Compiles patterns as given (blank entries skipped).
    /// - Throws: `DockerIgnore.Error` for a lone `!` or a malformed character class.
    public init(patterns: [String]) throws {
        var compiled: [IgnorePattern] = []
        for raw in patterns {
            var pattern = raw.trimmingWhitespace()
            if pattern.isEmpty { continue }
            var exception = false
            if pattern.hasPrefix("!") {
                exception = true
                pattern = String(pattern.dropFirst()).trimmingWhitespace()
                if pattern.isEmpty { throw Error.illegalExclusion }
            }
            pattern = Self.clean(pattern)
            if pattern.count > 1 && pattern.hasPrefix("/") { pattern.removeFirst() }
            compiled.append(try IgnorePattern(text: pattern, isException: exception))
        }
        self.compiled = compiled
    }

    /// Reads a `.dockerignore` file: `#` at the very start of a line is a comment, a UTF-8
    /// byte-order mark is ignored, blank lines are skipped.
    public init(text: String) throws {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        try self.init(patterns: lines.filter { !$0.hasPrefix("#") })
    }

    /// Whether `relativePath` (relative to the context root, `/`-separated) is excluded from
    /// the context, as BuildKit's context walk decides it (fsutil's filter calling moby's
    /// `MatchesUsingParentResults` from the root down): a pattern that matched a parent
    /// directory counts as matching its children. `isDirectory` does not change the answer
    /// (Docker's patterns do not distinguish files from directories; a trailing `/` is cleaned
    /// away) but is taken so callers state it.
    ///
    /// An excluded directory can still hold paths a later `!` pattern re-includes (`*` then
    /// `!dir/keep`): a walk must descend into it unless `canSkipDirectory` says otherwise.
    public func excludes(_ relativePath: String, isDirectory: Bool) -> Bool {
        var path = Self.clean(relativePath)
        // Context paths are relative; tolerate a leading slash from callers that root them.
        if path.hasPrefix("/") { path = Self.clean(String(path.dropFirst())) }
        if path == "." || compiled.isEmpty { return false }
        var excluded = false
        var parentMatched: [Bool] = []
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            (excluded, parentMatched) = step(prefix, parentMatched: parentMatched)
        }
        return excluded
    }

    /// One level of `MatchesUsingParentResults`: whether `path` is excluded, and which patterns
    /// matched it (its children inherit those matches). `parentMatched` is empty at the top.
    private func step(_ path: String, parentMatched: [Bool]) -> (Bool, [Bool]) {
        var excluded = false
        var matched = [Bool](repeating: false, count: compiled.count)
        for (index, pattern) in compiled.enumerated() {
            var match = parentMatched.isEmpty ? false : parentMatched[index]
            if !match {
                // An exclusion cannot change an included path, nor an inclusion an excluded one.
                if pattern.isException != excluded { continue }
                match = pattern.matches(path)
            }
            matched[index] = match
            if match { excluded = !pattern.isException }
        }
        return (excluded, matched)
    }

    /// Whether a context walk may skip the directory `relativePath` without looking inside:
    /// it is excluded and no exception pattern could re-include anything below it.
    public func canSkipDirectory(_ relativePath: String) -> Bool {
        guard excludes(relativePath, isDirectory: true) else { return false }
        var directory = Self.clean(relativePath)
        if directory.hasPrefix("/") { directory = Self.clean(String(directory.dropFirst())) }
        let prefix = directory + "/"
        return !compiled.contains { $0.isException && $0.couldMatch(below: prefix) }
    }

    /// Go's `filepath.Clean` for `/`-separated paths: repeated slashes, `.` and resolvable
    /// `..` removed, no trailing slash; the empty path becomes `.`.
    public static func clean(_ path: String) -> String {
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

extension DockerIgnore {
    /// The ignore files to look for, in order of preference: `<Dockerfile name>.dockerignore`
    /// beside the Dockerfile, then `.dockerignore` at the context root.
    public static func candidateFiles(dockerfilePath: String, contextPath: String) -> [String] {
        let slash = dockerfilePath.lastIndex(of: "/")
        let directory = slash.map { String(dockerfilePath[..<$0]) } ?? "."
        let name = slash.map { String(dockerfilePath[dockerfilePath.index(after: $0)...]) } ?? dockerfilePath
        let context = contextPath.hasSuffix("/") && contextPath.count > 1 ? String(contextPath.dropLast()) : contextPath
        return ["\(directory.isEmpty ? "" : directory)/\(name).dockerignore", "\(context)/.dockerignore"]
    }

    /// The ignore file that applies: the first candidate for which `exists` is true, `nil`
    /// when there is none (nothing is ignored).
    public static func chooseFile(dockerfilePath: String, contextPath: String, exists: (String) -> Bool) -> String? {
        candidateFiles(dockerfilePath: dockerfilePath, contextPath: contextPath).first(where: exists)
    }
}
