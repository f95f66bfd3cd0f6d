// Helpers for the Archive tests: temporary trees, external tools, tree listings with content
// hashes (the sentinel comparison), and environment checks that fail loudly in CI.
import CArchive
import CKilnSys
import Foundation
import Glibc
import PluginAPI
import PluginSupport
import SystemCalls
import Testing

@testable import Archive

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String

    init(_ label: String = "kiln-archive", base: String = "/tmp") throws {
        var template = Array("\(base)/\(label)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: p)
    }

    deinit { _ = try? run(["rm", "-rf", path]) }

    func sub(_ name: String) -> String { path + "/" + name }

    /// Creates a directory (and parents) under the temp dir and returns its path.
    func mkdir(_ name: String) throws -> String {
        let p = sub(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

struct CommandResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `argv` (argv[0] looked up in PATH) and returns its output; `stdin` is fed if given.
@discardableResult
func run(_ argv: [String], stdin: Data? = nil, check: Bool = true) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    let result = CommandResult(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    if check && result.status != 0 {
        throw CommandFailure(argv: argv, result: result)
    }
    return result
}

struct CommandFailure: Error, CustomStringConvertible {
    let argv: [String]
    let result: CommandResult
    var description: String { "\(argv.joined(separator: " ")) exited \(result.status): \(result.stderr)" }
}

/// Runs a Python snippet (used to build hostile tars with the standard `tarfile` module,
/// independent of libarchive).
func python(_ code: String, _ args: [String] = []) throws {
    try run(["python3", "-c", code] + args)
}

/// True when running as root; in CI a missing root is a failure, elsewhere the test skips.
let isRoot = geteuid() == 0
let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
/// Tests that need root run when root, and also in CI where `requireRoot()` fails them loudly.
let rootOrCI = isRoot || inCI

func requireRoot() {
    if !isRoot { Issue.record("this test needs root (device nodes, chown, security.capability); run the suite as root") }
}

func requireTool(_ name: String) -> Bool {
    if (try? run(["which", name], check: false).status) == 0 { return true }
    Issue.record("\(name) is not installed; install it (scripts/install-deps) to run this test")
    return false
}

/// A recursive listing of `root`: one line per entry with type, mode, owner, size, content
/// hash, link target, rdev and xattrs. Two listings are equal iff the trees are.
func listing(_ root: String, mtimes: Bool = false) throws -> [String] {
    var lines: [String] = []
    func walk(_ rel: String) throws {
        let abs = rel.isEmpty ? root : root + "/" + rel
        var st = stat()
        guard lstat(abs, &st) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var line = "\(rel.isEmpty ? "." : rel) \(String(st.st_mode, radix: 8)) \(st.st_uid):\(st.st_gid)"
        let type = st.st_mode & 0o170000
        if type == 0o100000 {
            let data = try Data(contentsOf: URL(fileURLWithPath: abs))
            line += " size=\(st.st_size) sha256=\(Digest.sha256(of: [UInt8](data)).encoded.prefix(16))"
        } else if type == 0o120000 {
            line += " -> \(try readLink(abs))"
        } else if type == 0o020000 || type == 0o060000 {
            line += " rdev=\(st.st_rdev)"
        }
        for (k, v) in try readXattrs(BytePath(abs)) { line += " xattr:\(k)=\(v.map { String($0, radix: 16) }.joined())" }
        // The root has no entry in a layer, so its mtime is not part of the comparison.
        if mtimes && type != 0o120000 && !rel.isEmpty { line += " mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" }
        lines.append(line)
        if type == 0o040000 {
            for name in try FileManager.default.contentsOfDirectory(atPath: abs).sorted() {
                try walk(rel.isEmpty ? name : rel + "/" + name)
            }
        }
    }
    try walk("")
    return lines
}

/// Lists the entries of a tar blob with GNU tar (`tar -tvf`, auto-detecting compression).
func gnuTarListing(_ path: String) throws -> [String] {
    var argv = ["tar", "--numeric-owner", "--full-time", "-tvf", path]
    if (try? Data(contentsOf: URL(fileURLWithPath: path)).prefix(4)) == Data([0x28, 0xb5, 0x2f, 0xfd]) {
        argv.insert("--zstd", at: 1)
    }
    return try run(argv).text.split(separator: "\n").map(String.init)
}

/// The entry names of a tar blob, in order, as Python's tarfile reads them (trailing `/` of
/// directories restored from the type).
func tarNames(_ path: String) throws -> [String] {
    let code = """
        import sys, tarfile
        for m in tarfile.open(sys.argv[1], 'r:*'):
            print(m.name + ('/' if m.isdir() else '') + ('\\t' + m.linkname if (m.islnk() or m.issym()) else ''))
        """
    return try run(["python3", "-c", code, path]).text.split(separator: "\n").map(String.init)
}

func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, mode)
}

/// A `security.capability` value (VFS_CAP_REVISION_2, effective): cap_net_bind_service+ep.
let netBindServiceCapability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)

func setXattr(_ path: String, _ name: String, _ value: [UInt8]) throws {
    let r = value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
    if r != 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}

func stat(_ path: String) throws -> stat {
    var st = Glibc.stat()
    guard lstat(path, &st) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return st
}

/// `a   b` → `a b`: GNU tar pads its listing columns to the widest value seen so far.
func collapsingSpaces(_ s: String) -> String {
    s.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
}
