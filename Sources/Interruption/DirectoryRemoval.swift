// Removing a working directory while the interrupted build may still be writing into it: mounts
// under it are detached first and the walk never leaves the directory's file system, so a mount
// that could not be detached is never emptied; a directory a still-running download recreated
// is removed again.
import Glibc

enum DirectoryRemoval {
    /// Removes `directory`; nil on success (or when it is absent), else what failed.
    static func remove(_ directory: String) -> String? {
        var failure: String?
        for attempt in 0..<5 {
            if attempt > 0 { usleep(50_000) }
            var st = stat()
            guard lstat(directory, &st) == 0 else { return nil }
            detachMounts(under: directory)
            failure = removeTree(AT_FDCWD, Array(directory.utf8CString), device: st.st_dev).map { "\(directory): \($0)" }
        }
        var st = stat()
        return lstat(directory, &st) == 0 ? (failure ?? "\(directory) keeps reappearing") : nil
    }

    /// Lazily unmounts every mount point at or below `directory`, deepest first.
    static func detachMounts(under directory: String) {
        let below = mountPoints().filter { $0 == directory || $0.hasPrefix(directory + "/") }
        for point in below.sorted(by: { $0.count > $1.count }) { _ = umount2(point, Int32(MNT_DETACH)) }
    }

    /// Field 5 of `/proc/self/mountinfo`, with its octal escapes (`\040`) decoded.
    static func mountPoints() -> [String] {
        let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " "))
            return fields.count > 4 ? decode(fields[4]) : nil
        }
    }

    static func decode(_ field: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var i = field.startIndex
        while i < field.endIndex {
            if field[i] == UInt8(ascii: "\\"), i + 3 < field.endIndex,
                let v = UInt8(String(decoding: field[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v)
                i += 4
            } else {
                out.append(field[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Removes `name` (NUL-terminated bytes: names need not be UTF-8) in `dirfd` and everything
    /// below it that is on `device`; returns the first failure (call and errno text), nil when
    /// all is gone.
    private static func removeTree(_ dirfd: Int32, _ name: [CChar], device: dev_t) -> String? {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return errno == ENOENT ? nil : failed("fstatat") }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? nil : failed("unlink")
        }
        guard st.st_dev == device else { return "a mount point could not be detached" }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? nil : failed("open") }
        var failure: String?
        for entry in names(fd) {
            if let f = removeTree(fd, entry, device: device), failure == nil { failure = f }
        }
        close(fd)
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && failure == nil { failure = failed("rmdir") }
        return failure
    }

    /// The entries of an open directory (without `.` and `..`), NUL-terminated; `fd` stays open.
    private static func names(_ fd: Int32) -> [[CChar]] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else { return [] }
        defer { closedir(dir) }
        var out: [[CChar]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } }
            if name != [46] && name != [46, 46] { out.append(name + [0]) }
        }
        return out
    }

    private static func failed(_ call: String) -> String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}
