import Diagnostics
import Dockerfile
import FoundationEssentials
import Glibc
import PluginAPI
import PluginSupport
import SystemCalls

/// The build context: the directory COPY and ADD read from, with `.dockerignore` applied when
/// reading (files are never deleted from the context).
public struct BuildContext: Sendable {
    /// Host path of the context directory.
    public let directory: String
    let ignore: DockerIgnore?

    public enum Error: Swift.Error, CustomStringConvertible {
        case missing(String)
        case notFound(pattern: String, location: String)
        case outside(pattern: String, location: String)
        case emptySource(location: String)
        case unsupported(String)

        /// True when the message already names the Dockerfile line.
        var isLocated: Bool {
            switch self {
            case .notFound, .outside, .emptySource: return true
            case .missing, .unsupported: return false
            }
        }

        public var description: String {
            switch self {
            case .missing(let p): return "build context \(p) does not exist or is not a directory"
            case .notFound(let p, let loc):
                return "\(loc): COPY/ADD source '\(p)' not found in the build context (or excluded by .dockerignore)"
            case .outside(let p, let loc): return "\(loc): COPY/ADD source '\(p)' is outside the build context"
            case .emptySource(let loc): return "\(loc): a COPY/ADD source is empty (did a variable expand to nothing?)"
            case .unsupported(let what): return what
            }
        }
    }

    public init(directory: String, ignore: DockerIgnore?) {
        self.directory = directory
        self.ignore = ignore
    }

    /// Opens the context the options name (`dir://`, `tar://`, or a plain directory), applying
    /// `--context-sub-path`; a tarball is unpacked into `workDirectory`.
    public static func open(_ source: SourceOptions, workDirectory: String, dockerfilePath: String) throws -> BuildContext {
        var spec = source.context
        var dir: String
        if spec.hasPrefix("dir://") { spec.removeFirst("dir://".count) }
        if spec.hasPrefix("tar://") {
            let tar = String(spec.dropFirst("tar://".count))
            dir = workDirectory + "/context"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try ContextArchive.unpack(tar, into: dir)
        } else if spec.contains("://") {
            throw Error.unsupported("build context '\(source.context)' is not available yet: use a directory or tar://FILE")
        } else {
            dir = absolute(spec)
        }
        if let sub = source.contextSubPath, !sub.isEmpty { dir = dir + "/" + BuildRoot.relative(sub) }
        var isDir = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir else { throw Error.missing(dir) }
        let ignoreFile = DockerIgnore.chooseFile(dockerfilePath: dockerfilePath, contextPath: dir) {
            FileManager.default.isReadableFile(atPath: $0)
        }
        guard let ignoreFile else { return BuildContext(directory: dir, ignore: nil) }
        do {
            let text = try String(contentsOfFile: ignoreFile, encoding: .utf8)
            return BuildContext(directory: dir, ignore: try DockerIgnore(text: text))
        } catch {
            throw KilnError(.invalidInput, "reading \(ignoreFile)", cause: error)
        }
    }

    /// True when `.dockerignore` excludes the relative path.
    public func isExcluded(_ relative: String, isDirectory: Bool) -> Bool {
        guard let ignore, !relative.isEmpty else { return false }
        return ignore.excludes(relative, isDirectory: isDirectory)
    }

    /// False when the directory `relative` is excluded and no `!` pattern can re-include
    /// anything below it, so a walk may skip it.
    public func mayReinclude(below relative: String) -> Bool {
        guard let ignore else { return true }
        return !ignore.canSkipDirectory(relative)
    }

    /// Whether the excluded directory `relative` holds a path `.dockerignore` re-includes.
    func holdsIncludedPath(_ relative: BytePath) -> Bool {
        guard mayReinclude(below: relative.lossyString), let names = Self.names(in: hostPath(relative)) else { return false }
        for name in names {
            let child = relative.appending(name)
            let isDir = ((try? lstatIfPresent(hostPath(child))) ?? nil).map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
            if !isExcluded(child.lossyString, isDirectory: isDir) || (isDir && holdsIncludedPath(child)) { return true }
        }
        return false
    }

    /// Expands a COPY/ADD source pattern (Go `filepath.Match` per component) to the relative
    /// paths it matches, sorted, minus what `.dockerignore` and `excludes` drop. Paths are the
    /// kernel's bytes; a name that is not UTF-8 is matched as text with U+FFFD for each such byte
    /// (as Go reads it), and returned exactly.
    public func match(_ pattern: String, excludes: [DockerIgnore] = [], location: SourceLocation) throws -> [BytePath] {
        // `COPY "$UNSET" /d/` must not copy the whole context.
        guard !pattern.trimmed().isEmpty else { throw Error.emptySource(location: location.description) }
        let components = pattern.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        if components.contains("..") {
            let clean = BuildRoot.components(pattern)
            if pattern.split(separator: "/").filter({ $0 == ".." }).count > clean.count {
                throw Error.outside(pattern: pattern, location: location.description)
            }
        }
        let clean = BuildRoot.components(pattern)
        if clean.isEmpty { return [.empty] }
        var found: [BytePath] = [.empty]
        for (i, comp) in clean.enumerated() {
            var next: [BytePath] = []
            let last = i == clean.count - 1
            let matcher: PathPattern
            do { matcher = try PathPattern(comp) } catch {
                throw KilnError(.invalidInput, "COPY/ADD source '\(pattern)'", at: location.diagnostic, cause: error)
            }
            for base in found {
                if !PathPattern.hasWildcards(comp) {
                    let rel = base.appending(comp)
                    if let st = (try? lstatIfPresent(hostPath(rel))) ?? nil,
                        last || (st.st_mode & S_IFMT) == S_IFDIR || (st.st_mode & S_IFMT) == S_IFLNK
                    {
                        next.append(rel)
                    }
                    continue
                }
                guard let names = Self.names(in: hostPath(base)) else { continue }
                for name in names where matcher.matches(name.lossyString) {
                    next.append(base.appending(name))
                }
            }
            found = next
        }
        let kept = found.filter { rel in
            var st = stat()
            let isDir = hostPath(rel).withCString { stat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            // An excluded directory still names what `!` patterns re-include inside it.
            let text = rel.lossyString
            if isExcluded(text, isDirectory: isDir) && !(isDir && holdsIncludedPath(rel)) { return false }
            return !excludes.contains { $0.excludes(text, isDirectory: isDir) }
        }
        // A wildcard that matches nothing copies nothing (BuildKit allows empty wildcards); a
        // plain path that does not exist is an error.
        if kept.isEmpty && clean.contains(where: PathPattern.hasWildcards) { return [] }
        guard !kept.isEmpty else { throw Error.notFound(pattern: pattern, location: location.description) }
        return kept
    }

    /// The host path of a path relative to the context.
    func hostPath(_ relative: BytePath) -> BytePath {
        relative.isEmpty ? BytePath(directory) : BytePath(directory).appending(relative)
    }

    /// The names in a directory as bytes, sorted; nil when it cannot be read.
    static func names(in directory: BytePath) -> [BytePath]? {
        let fd = directory.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return try? directoryNames(fd, subject: directory.description)
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        let joined = path == "." ? cwd : cwd + "/" + path
        return DockerIgnore.clean(joined)
    }
}

extension BuildContext.Error: DiagnosticCoded {
    public var diagnosticCode: KilnError.Code {
        switch self {
        case .missing, .notFound: return .notFound
        case .outside, .emptySource: return .invalidInput
        case .unsupported(let what): return what.contains("not available yet") ? .notAvailableYet : .invalidInput
        }
    }
}
