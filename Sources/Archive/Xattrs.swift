// Extended attributes and symlink targets read from disk without following a final symlink.
import CArchive
import CKilnSys
import Glibc
import SystemCalls

/// Names never carried into a layer: `security.selinux` is the host's label, not content.
let skippedXattrs: Set<String> = ["security.selinux"]

/// The xattrs of `path` (not following a final symlink), sorted by name for determinism.
func readXattrs(_ path: String) throws(SystemCallError) -> [(String, [UInt8])] {
    var size = llistxattr(path, nil, 0)
    if size < 0 {
        let e = errno
        if e == ENOTSUP || e == ENODATA { return [] }
        throw SystemCallError(call: "llistxattr", subject: path, code: e)
    }
    if size == 0 { return [] }
    var names = [CChar](repeating: 0, count: size)
    size = llistxattr(path, &names, size)
    if size < 0 { throw SystemCallError(call: "llistxattr", subject: path, code: errno) }
    var result: [(String, [UInt8])] = []
    var start = 0
    for i in 0..<size where names[i] == 0 {
        let name = names[start..<i].withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0), as: UTF8.self) }
        start = i + 1
        if name.isEmpty || skippedXattrs.contains(name) { continue }
        let len = lgetxattr(path, name, nil, 0)
        if len < 0 {
            if errno == ENODATA { continue }
            throw SystemCallError(call: "lgetxattr", subject: "\(path) \(name)", code: errno)
        }
        var value = [UInt8](repeating: 0, count: len)
        let got = lgetxattr(path, name, &value, len)
        if got < 0 { throw SystemCallError(call: "lgetxattr", subject: "\(path) \(name)", code: errno) }
        result.append((name, Array(value[0..<got])))
    }
    return result.sorted { $0.0 < $1.0 }
}
