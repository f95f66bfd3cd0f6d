import Dispatch
import Glibc
// A fast, allocation-light walk of a directory tree: readdir(3) plus fstatat(2) with
// AT_SYMLINK_NOFOLLOW relative to the open directory, so no path is resolved twice and a
// directory swapped for a symlink mid-walk is never followed (openat with O_NOFOLLOW).
// FileManager's enumerators are 8–15× slower and wrong on some paths
// (research/swift-feasibility.md §4).
import PluginAPI

/// Walks the tree under `root` and produces one `FileRecord` per entry, the root excluded.
///
/// Contract:
/// - Entries are read with `lstat` semantics: symlinks are recorded, never followed.
/// - An entry whose path is in `ignoring` is neither recorded nor descended into, so an ignored
///   mount point (`/proc`, `/sys`, a bind-mounted secret) is never crossed. Ignore entries match
///   exactly (the walker never reaches the children of an ignored path).
/// - Entries that vanish while the walk runs (ENOENT/ENOTDIR) are skipped: the walk reports the
///   tree as it was when each directory was read.
/// - Extended attributes are read only when `readsExtendedAttributes` is set (one `llistxattr`
///   per entry, plus `lgetxattr` per attribute).
/// - Records come in depth-first pre-order with each directory's entries in readdir order;
///   callers that need an order sort (`BytePath <`, which puts a parent before its children).
/// - Names are the kernel's bytes (`BytePath`): a name that is not UTF-8 is recorded exactly.
/// - Open file descriptors: one per directory level being walked.
///
/// Throws `TreeWalker.Error` when the root cannot be opened or a directory cannot be read.
public struct TreeWalker: Sendable {
    /// The directory to walk (symlinks in this path itself are followed).
    public var root: String
    /// Paths (in the root's view, `/proc`) to leave out with everything beneath them.
    public var ignoring: IgnoreList
    /// Whether records carry their extended attributes.
    public var readsExtendedAttributes: Bool

    public init(root: String, ignoring: IgnoreList = IgnoreList(), readsExtendedAttributes: Bool = false) {
        self.root = root
        self.ignoring = ignoring
        self.readsExtendedAttributes = readsExtendedAttributes
    }

    /// Why a walk stopped.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable, Sendable {
        case cannotOpenRoot(path: String, errno: Int32)
        case cannotOpenDirectory(path: String, errno: Int32)
        case cannotReadDirectory(path: String, errno: Int32)
        case cannotStat(path: String, errno: Int32)
        case cannotReadLink(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .cannotOpenRoot(let path, let e):
                return "cannot open the snapshot root \(path): \(errnoText(e)); check that it exists and is a directory"
            case .cannotOpenDirectory(let path, let e):
                return
                    "cannot open directory \(path) while walking the tree: \(errnoText(e)); add it to the ignore list if it is a special mount"
            case .cannotReadDirectory(let path, let e):
                return "cannot read directory \(path) while walking the tree: \(errnoText(e))"
            case .cannotStat(let path, let e):
                return "cannot lstat \(path): \(errnoText(e))"
            case .cannotReadLink(let path, let e):
                return "cannot read symlink \(path): \(errnoText(e))"
            }
        }
    }

    /// Calls `visit` for every entry, in depth-first pre-order. Runs on the calling thread.
    public func walk(_ visit: (FileRecord) throws -> Void) throws {
        var ignored = Set<BytePath>()
        for p in ignoring.prefixes { ignored.insert(BytePath(String(p.dropFirst()))) }
        if ignored.contains("") { return }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Error.cannotOpenRoot(path: root, errno: errno) }
        var context = WalkContext(walker: self, ignored: ignored)
        try context.walkDirectory(fd: fd, relativePath: .empty, visit)
    }

    /// Every record of the tree, in depth-first pre-order. Runs on the calling thread.
    public func records() throws -> [FileRecord] {
        var out: [FileRecord] = []
        try walk { out.append($0) }
        return out
    }

    /// Every record of the tree, keyed by path; the walk runs off the cooperative pool.
    public func recordsByPath() async throws -> [BytePath: FileRecord] {
        try await runBlocking {
            var out: [BytePath: FileRecord] = [:]
            try self.walk { out[$0.path] = $0 }
            return out
        }
    }
}

/// Runs a blocking body (a tree walk, file hashing) on a Dispatch thread so that it does not
/// hold one of the few cooperative-pool threads for seconds.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Swift.Error>) in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

func errnoText(_ e: Int32) -> String {
    String(cString: strerror(e)) + " (errno \(e))"
}
