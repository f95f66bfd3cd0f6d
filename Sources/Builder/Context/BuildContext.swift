import Diagnostics
import Dockerfile
import Foundation
import Glibc

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
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else { throw Error.missing(dir) }
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
    func holdsIncludedPath(_ relative: String) -> Bool {
        guard mayReinclude(below: relative),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + relative)
        else { return false }
        for name in names {
            let child = relative + "/" + name
            var st = stat()
            let isDir = lstat(directory + "/" + child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            if !isExcluded(child, isDirectory: isDir) || (isDir && holdsIncludedPath(child)) { return true }
        }
        return false
    }

    /// Expands a COPY/ADD source pattern (Go `filepath.Match` per component) to the relative
    /// paths it matches, sorted, minus what `.dockerignore` and `excludes` drop.
    public func match(_ pattern: String, excludes: [DockerIgnore] = [], location: SourceLocation) throws -> [String] {
        // `COPY "$UNSET" /d/` must not copy the whole context.
        guard !pattern.trimmingCharacters(in: .whitespaces).isEmpty else { throw Error.emptySource(location: location.description) }
        let components = pattern.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        if components.contains("..") {
            let clean = BuildRoot.components(pattern)
            if pattern.split(separator: "/").filter({ $0 == ".." }).count > clean.count {
                throw Error.outside(pattern: pattern, location: location.description)
            }
        }
        let clean = BuildRoot.components(pattern)
        if clean.isEmpty { return [""] }
        var found: [String] = [""]
        for (i, comp) in clean.enumerated() {
            var next: [String] = []
            let last = i == clean.count - 1
            let matcher: PathPattern
            do { matcher = try PathPattern(comp) } catch {
                throw KilnError(.invalidInput, "COPY/ADD source '\(pattern)'", at: location.diagnostic, cause: error)
            }
            for base in found {
                let baseHost = base.isEmpty ? directory : directory + "/" + base
                if !PathPattern.hasWildcards(comp) {
                    let rel = base.isEmpty ? comp : base + "/" + comp
                    var st = stat()
                    if lstat(directory + "/" + rel, &st) == 0, last || (st.st_mode & S_IFMT) == S_IFDIR || (st.st_mode & S_IFMT) == S_IFLNK
                    {
                        next.append(rel)
                    }
                    continue
                }
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: baseHost) else { continue }
                for name in names.sorted() where matcher.matches(name) {
                    next.append(base.isEmpty ? name : base + "/" + name)
                }
            }
            found = next
        }
        let kept = found.filter { rel in
            var st = stat()
            let isDir = stat(directory + "/" + rel, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            // An excluded directory still names what `!` patterns re-include inside it.
            if isExcluded(rel, isDirectory: isDir) && !(isDir && holdsIncludedPath(rel)) { return false }
            return !excludes.contains { $0.excludes(rel, isDirectory: isDir) }
        }
        // A wildcard that matches nothing copies nothing (BuildKit allows empty wildcards); a
        // plain path that does not exist is an error.
        if kept.isEmpty && clean.contains(where: PathPattern.hasWildcards) { return [] }
        guard !kept.isEmpty else { throw Error.notFound(pattern: pattern, location: location.description) }
        return kept
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        let joined = path == "." ? cwd : cwd + "/" + path
        return (joined as NSString).standardizingPath
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
