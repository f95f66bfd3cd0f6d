import FoundationEssentials
import Glibc
import PluginAPI
import SystemCalls

/// A stage's root file system on disk, with path resolution that never leaves it.
///
/// `resolve` follows symlinks the way the kernel would *inside a chroot*: absolute targets and
/// `..` are taken relative to the root and can never climb above it (the securejoin rule). The
/// build is the only writer while instructions run (RUN processes have exited), so resolving
/// then acting on the resolved path is not racy.
public struct BuildRoot: Sendable {
    /// Absolute host path of the root directory, without a trailing slash.
    public let path: String

    public enum Error: Swift.Error, CustomStringConvertible {
        case symlinkLoop(String)
        case notADirectory(String)
        public var description: String {
            switch self {
            case .symlinkLoop(let p): return "too many levels of symbolic links resolving \(p) in the build root"
            case .notADirectory(let p): return "\(p) in the build root is not a directory"
            }
        }
    }

    public init(path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// Splits an image path (`/usr/bin/x`, `usr//bin/./x`) into clean components; `..` pops.
    public static func components(_ imagePath: String) -> [String] {
        var out: [String] = []
        for part in imagePath.split(separator: "/") where part != "." {
            if part == ".." { if !out.isEmpty { out.removeLast() } } else { out.append(String(part)) }
        }
        return out
    }

    /// `components` for a path of the kernel's bytes.
    public static func components(_ imagePath: BytePath) -> [BytePath] {
        var out: [BytePath] = []
        for part in imagePath.components where part != "." {
            if part == ".." { if !out.isEmpty { out.removeLast() } } else { out.append(part) }
        }
        return out
    }

    /// The directory part of a path (`/a/b` → `/a`, `b` → ``), without Foundation's NSString
    /// path functions (which crashed under concurrent use here).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of a path, ignoring a trailing slash.
    public static func lastComponent(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? ""
    }

    /// The clean relative form of an image path (`usr/bin/x`; empty for the root).
    public static func relative(_ imagePath: String) -> String { components(imagePath).joined(separator: "/") }

    /// Resolves `imagePath` inside the root with the one in-root resolver
    /// (`RootedDirectory.resolve`): every symlink among the components is followed (the last one
    /// too when `followLast`); returns the relative path of what it names, which may not exist yet.
    public func resolve(_ imagePath: String, followLast: Bool = true) throws -> String {
        do {
            return try RootedDirectory(path: path).resolve(imagePath, followLast: followLast)
        } catch  where error.code == ELOOP {
            throw Error.symlinkLoop(imagePath)
        }
    }

    /// `resolve` for a path of the kernel's bytes (a name listed from a directory).
    public func resolve(_ imagePath: BytePath, followLast: Bool = true) throws -> BytePath {
        do {
            return try RootedDirectory(path: path).resolve(imagePath, followLast: followLast)
        } catch  where error.code == ELOOP {
            throw Error.symlinkLoop(imagePath.description)
        }
    }

    /// Host path for a path relative to the root (no resolution: pass resolved paths).
    public func hostPath(_ relative: String) -> String {
        if relative.isEmpty { return path }
        return path == "/" ? "/" + relative : path + "/" + relative
    }

    /// `hostPath` for a path of the kernel's bytes.
    public func hostPath(_ relative: BytePath) -> BytePath {
        if relative.isEmpty { return BytePath(path) }
        return path == "/" ? "/" + relative : BytePath(path).appending(relative)
    }

    /// lstat of a relative path, nil when absent.
    public func lstatIfPresent(_ relative: String) -> stat? {
        var st = stat()
        return lstat(hostPath(relative), &st) == 0 ? st : nil
    }

    /// Creates `relative` and its missing ancestors as directories (resolving symlinks among
    /// them); returns the resolved relative path and the relative paths it created, outermost first.
    @discardableResult
    public func makeDirectories(_ imagePath: String, permissions: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0) throws -> (
        path: String, created: [String]
    ) {
        let (path, created) = try makeDirectories(BytePath(imagePath), permissions: permissions, uid: uid, gid: gid)
        return (path.lossyString, created.map(\.lossyString))
    }

    /// `makeDirectories` for an image path of the kernel's bytes.
    @discardableResult
    public func makeDirectories(_ imagePath: BytePath, permissions: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0) throws -> (
        path: BytePath, created: [BytePath]
    ) {
        var created: [BytePath] = []
        var current = BytePath.empty
        for part in Self.components(imagePath) {
            // `current` is resolved already: only a symlink at `part` needs a full resolve
            // (resolving the whole prefix again for every component made deep paths cubic).
            let candidate = current.appending(part)
            var next = candidate
            if let st = (try? SystemCalls.lstatIfPresent(hostPath(candidate))) ?? nil, (st.st_mode & S_IFMT) == S_IFLNK {
                next = try resolve(candidate)
            }
            if let st = (try? SystemCalls.lstatIfPresent(hostPath(next))) ?? nil {
                guard (st.st_mode & S_IFMT) == S_IFDIR else { throw Error.notADirectory("/" + next.description) }
            } else {
                let host = hostPath(next)
                try sys("mkdir", host) { mkdir($0, permissions) }
                try sys("chmod", host) { chmod($0, permissions) }
                try sys("lchown", host) { lchown($0, uid, gid) }
                created.append(next)
            }
            current = next
        }
        return (current, created)
    }
}

extension BuildRoot {
    /// Creates the directory `path` with mode 0700, and its missing ancestors with 0700 too: build
    /// roots hold the base image's setuid-root programs, so no other local user may reach them.
    /// An ancestor that exists keeps its mode (`--kaniko-dir /kaniko` also holds kaniko's own
    /// files). With `exclusive`, an existing `path` is an error rather than adopted: in a shared
    /// directory another user could have made it first.
    public static func makePrivateDirectory(_ path: String, exclusive: Bool = false) throws {
        let parts = components(path)
        var current = path.hasPrefix("/") ? "" : "."
        for (index, part) in parts.enumerated() {
            current += "/" + part
            let isLast = index == parts.count - 1
            if mkdir(current, 0o700) == 0 {
                try sys("chmod", current) { chmod(current, 0o700) }
                continue
            }
            let err = errno
            var st = stat()
            guard err == EEXIST, !(isLast && exclusive), stat(current, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw SystemCallError(call: "mkdir", subject: current, code: err == EEXIST && !(isLast && exclusive) ? ENOTDIR : err)
            }
        }
    }
}

/// The whole content of a (small) file, with the failing call's errno as the error.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw SystemCallError(call: "read", subject: path, code: errno) }
        if n == 0 { return out }
        out += buffer[0..<n]
    }
}
