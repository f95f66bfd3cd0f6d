import Foundation
import Glibc

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

    /// Resolves `imagePath` inside the root. Every symlink among the components is followed
    /// (the last one too when `followLast`); returns the relative path of what it names, which
    /// may not exist yet.
    public func resolve(_ imagePath: String, followLast: Bool = true) throws -> String {
        var pending = Self.components(imagePath)
        pending.reverse()
        var resolved: [String] = []
        var hops = 0
        while let part = pending.popLast() {
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = (resolved + [part]).joined(separator: "/")
            var st = stat()
            let isLast = pending.isEmpty
            if lstat(hostPath(candidate), &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK, !isLast || followLast {
                hops += 1
                guard hops <= 40 else { throw Error.symlinkLoop(imagePath) }
                let target = try readLink(hostPath(candidate))
                if target.hasPrefix("/") { resolved = [] }
                let parts = target.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
                pending.append(contentsOf: parts.reversed())
                continue
            }
            resolved.append(part)
        }
        return resolved.joined(separator: "/")
    }

    /// Host path for a path relative to the root (no resolution: pass resolved paths).
    public func hostPath(_ relative: String) -> String {
        if relative.isEmpty { return path }
        return path == "/" ? "/" + relative : path + "/" + relative
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
        var created: [String] = []
        var current = ""
        for part in Self.components(imagePath) {
            // `current` is resolved already: only a symlink at `part` needs a full resolve
            // (resolving the whole prefix again for every component made deep paths cubic).
            let candidate = current.isEmpty ? part : current + "/" + part
            var next = candidate
            if let st = lstatIfPresent(candidate), (st.st_mode & S_IFMT) == S_IFLNK { next = try resolve(candidate) }
            if let st = lstatIfPresent(next) {
                guard (st.st_mode & S_IFMT) == S_IFDIR else { throw Error.notADirectory("/" + next) }
            } else {
                try Syscall.check("mkdir", hostPath(next)) { mkdir(hostPath(next), permissions) }
                try Syscall.check("chmod", hostPath(next)) { chmod(hostPath(next), permissions) }
                try Syscall.check("lchown", hostPath(next)) { lchown(hostPath(next), uid, gid) }
                created.append(next)
            }
            current = next
        }
        return (current, created)
    }
}

func readLink(_ path: String) throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n >= 0 else { throw Syscall.Error(call: "readlink", path: path, errno: errno) }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The one seam for system calls in the builder: result or errno, with the path attached.
enum Syscall {
    struct Error: Swift.Error, CustomStringConvertible {
        var call: String
        var path: String
        var errno: Int32
        var description: String { "\(call) \(path): \(String(cString: strerror(errno)))" }
    }

    @discardableResult
    static func check(_ call: String, _ path: @autoclosure () -> String, _ body: () -> Int32) throws -> Int32 {
        let r = body()
        if r < 0 { throw Error(call: call, path: path(), errno: errno) }
        return r
    }
}
