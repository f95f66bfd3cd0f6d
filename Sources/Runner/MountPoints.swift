// Mount targets a step needs but the image lacks (a scratch image has no /etc/resolv.conf):
// created before the step, removed after it, and reported, so they never become layer content.
import Glibc
import SystemCalls

/// The mount points created in one build root for one step.
final class MountPoints {
    private struct ParentTimes {
        var path: String
        var original: [timespec]
        var afterCreation: timespec
    }

    private let root: RootedDirectory
    private(set) var created: [(path: String, isDirectory: Bool)] = []
    private var parents: [ParentTimes] = []

    init(root: RootedDirectory) {
        self.root = root
    }

    /// Makes sure `inner` exists inside the root, as a directory or a file, creating it and its
    /// missing parents. Returns false when it is a dangling symlink: the image chose to point it
    /// somewhere that does not exist, so nothing is mounted there.
    func ensure(_ inner: String, directory: Bool) throws(SystemCallError) -> Bool {
        let components = pathComponents(inner)
        for index in components.indices {
            let path = "/" + components[...index].joined(separator: "/")
            let isLast = index == components.count - 1
            if let st = try root.stat(path) {
                let isDir = (st.st_mode & S_IFMT) == S_IFDIR
                if !isLast && !isDir || isLast && isDir != directory {
                    throw SystemCallError(operation: "mount point \(path) in \(root.path)", errno: isDir ? EISDIR : ENOTDIR)
                }
                continue
            }
            let parentPath = "/" + components[..<index].joined(separator: "/")
            let parent = try root.open(parentPath, O_RDONLY | O_DIRECTORY)
            defer { close(parent) }
            var link = Glibc.stat()
            if fstatat(parent, components[index], &link, AT_SYMLINK_NOFOLLOW) == 0 { return false }
            var before = Glibc.stat()
            try sys("stat \(parentPath) in \(root.path)") { fstat(parent, &before) }
            let wantDir = directory || !isLast
            if wantDir {
                try sys("create \(path) in \(root.path)") { mkdirat(parent, components[index], 0o755) }
            } else {
                let file = try sys("create \(path) in \(root.path)") {
                    openat(parent, components[index], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
                }
                close(file)
            }
            created.append((path, wantDir))
            var after = Glibc.stat()
            try sys("stat \(parentPath) in \(root.path)") { fstat(parent, &after) }
            if let i = parents.firstIndex(where: { $0.path == parentPath }) {
                parents[i].afterCreation = after.st_mtim
            } else {
                parents.append(ParentTimes(path: parentPath, original: [before.st_atim, before.st_mtim], afterCreation: after.st_mtim))
            }
        }
        return true
    }

    /// Removes what `ensure` created, newest first. A directory the step put files into stays
    /// (it is the step's content now). A parent's mtime is restored when nothing but kiln touched
    /// it, so a time-based snapshot does not see a change the step did not make.
    func removeCreated() -> (removed: [String], kept: [String]) {
        var removed: [String] = []
        var kept: [String] = []
        for entry in created.reversed() {
            let components = pathComponents(entry.path)
            guard let leaf = components.last else { continue }
            let parentPath = "/" + components.dropLast().joined(separator: "/")
            guard let parent = try? root.open(parentPath, O_RDONLY | O_DIRECTORY) else {
                kept.append(entry.path)
                continue
            }
            defer { close(parent) }
            if unlinkat(parent, leaf, entry.isDirectory ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT {
                removed.append(entry.path)
            } else {
                kept.append(entry.path)
            }
        }
        for times in parents.reversed() {
            guard let parent = try? root.open(times.path, O_RDONLY | O_DIRECTORY) else { continue }
            defer { close(parent) }
            var now = Glibc.stat()
            guard fstat(parent, &now) == 0, now.st_mtim.tv_sec == times.afterCreation.tv_sec,
                now.st_mtim.tv_nsec == times.afterCreation.tv_nsec
            else { continue }
            _ = futimens(parent, times.original)
        }
        return (removed.reversed(), kept.reversed())
    }
}
