// Extended attributes and symlink targets read from disk without following a final symlink.
import CArchive
import CKilnSys
import Glibc
import PluginAPI
import SystemCalls

/// Names never carried into a layer: `security.selinux` is the host's label, not content.
let skippedXattrs: Set<String> = ["security.selinux"]

/// The xattrs of `path` (not following a final symlink), sorted by name for determinism.
func readXattrs(_ bytes: BytePath) throws(SystemCallError) -> [(String, [UInt8])] {
    try bytes.withCString { (path: UnsafePointer<CChar>) throws(SystemCallError) in try readXattrs(path, subject: bytes.description) }
}

private func readXattrs(_ path: UnsafePointer<CChar>, subject: @autoclosure () -> String) throws(SystemCallError) -> [(String, [UInt8])] {
    var size = llistxattr(path, nil, 0)
    if size < 0 {
        let e = errno
        if e == ENOTSUP || e == ENODATA { return [] }
        throw SystemCallError(call: "llistxattr", subject: subject(), code: e)
    }
    if size == 0 { return [] }
    var names = [CChar](repeating: 0, count: size)
    size = llistxattr(path, &names, size)
    if size < 0 {
        let e = errno
        throw SystemCallError(call: "llistxattr", subject: subject(), code: e)
    }
    var result: [(String, [UInt8])] = []
    var start = 0
    for i in 0..<size where names[i] == 0 {
        let name = names[start..<i].withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0), as: UTF8.self) }
        start = i + 1
        if name.isEmpty || skippedXattrs.contains(name) { continue }
        let len = lgetxattr(path, name, nil, 0)
        if len < 0 {
            if errno == ENODATA { continue }
            let e = errno
            throw SystemCallError(call: "lgetxattr", subject: "\(subject()) \(name)", code: e)
        }
        var value = [UInt8](repeating: 0, count: len)
        let got = lgetxattr(path, name, &value, len)
        if got < 0 {
            let e = errno
            throw SystemCallError(call: "lgetxattr", subject: "\(subject()) \(name)", code: e)
        }
        result.append((name, Array(value[0..<got])))
    }
    return result.sorted { $0.0 < $1.0 }
}
