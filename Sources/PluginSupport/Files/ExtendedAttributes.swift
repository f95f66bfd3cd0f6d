// Extended attributes of a path, without following a final symlink (llistxattr/lgetxattr).
internal import CKilnFiles
import Glibc
import PluginAPI

/// Reads and writes extended attributes (`security.capability`, `user.*`, `trusted.*`…) of the
/// entry at a path itself (a symlink's own attributes, never its target's).
public enum ExtendedAttributes {
    /// A failed xattr call; `errno` tells why (ENOENT when the path vanished).
    public enum Error: Swift.Error, CustomStringConvertible, Equatable, Sendable {
        case failed(operation: String, path: String, errno: Int32)

        public var description: String {
            switch self {
            case .failed(let op, let path, let e):
                return "\(op) failed on \(path): \(errnoText(e)); the file system may not support extended attributes"
            }
        }
    }

    /// All attributes of `path`, by name. A file system without xattr support yields `[:]`.
    /// Attributes that disappear between listing and reading are left out.
    public static func read(path: String) throws -> [String: [UInt8]] {
        try path.withCString { try read(cPath: $0, display: path) }
    }

    /// All attributes of `path` (the kernel's bytes), by name; see `read(path:)`.
    public static func read(path: BytePath) throws -> [String: [UInt8]] {
        try path.withCString { try read(cPath: $0, display: path.description) }
    }

    private static func read(cPath path: UnsafePointer<CChar>, display: String) throws -> [String: [UInt8]] {
        var size = llistxattr(path, nil, 0)
        guard size != 0 else { return [:] }
        var names = [CChar]()
        while true {
            if size < 0 {
                let e = errno
                if e == ENOTSUP { return [:] }
                throw Error.failed(operation: "llistxattr", path: display, errno: e)
            }
            names = [CChar](repeating: 0, count: size)
            let n = llistxattr(path, &names, size)
            if n >= 0 {
                names.removeLast(names.count - n)
                break
            }
            if errno != ERANGE {
                size = -1
                continue
            }
            size = llistxattr(path, nil, 0)  // the list grew between the two calls
        }
        var out: [String: [UInt8]] = [:]
        var start = 0
        for i in names.indices where names[i] == 0 {
            let name = names[start..<i].withUnsafeBufferPointer { buf in
                String(decoding: UnsafeRawBufferPointer(buf), as: UTF8.self)
            }
            start = i + 1
            if let value = try value(name, cPath: path, display: display) { out[name] = value }
        }
        return out
    }

    /// One attribute's value, or nil when `path` has no such attribute.
    public static func value(_ name: String, path: String) throws -> [UInt8]? {
        try path.withCString { try value(name, cPath: $0, display: path) }
    }

    private static func value(_ name: String, cPath path: UnsafePointer<CChar>, display: String) throws -> [UInt8]? {
        while true {
            let size = lgetxattr(path, name, nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw Error.failed(operation: "lgetxattr \(name)", path: display, errno: errno)
            }
            var value = [UInt8](repeating: 0, count: size)
            let n = value.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, size) }
            if n >= 0 { return Array(value[0..<n]) }
            if errno == ENODATA { return nil }
            if errno != ERANGE { throw Error.failed(operation: "lgetxattr \(name)", path: display, errno: errno) }
        }
    }

    /// Sets (creates or replaces) one attribute of `path` itself.
    public static func set(_ name: String, to value: [UInt8], path: String) throws {
        let rc = value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, value.count, 0) }
        guard rc == 0 else { throw Error.failed(operation: "lsetxattr \(name)", path: path, errno: errno) }
    }

    /// Removes one attribute of `path` itself.
    public static func remove(_ name: String, path: String) throws {
        guard lremovexattr(path, name) == 0 else {
            throw Error.failed(operation: "lremovexattr \(name)", path: path, errno: errno)
        }
    }
}
