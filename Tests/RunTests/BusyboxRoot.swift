// A build root made from Debian's busybox-static (/bin/busybox): the binary, applet symlinks and
// an /etc/passwd and /etc/group with a user `app` (1000:1000) that is also in `extra` (1001).
// No /proc, /dev, /sys or /etc/{hosts,resolv.conf,hostname}: the Runner must create and remove them.
import Foundation
import Glibc
import Synchronization
import Testing

enum Prerequisites {
    static let busybox = "/bin/busybox"
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static var available: Bool { getuid() == 0 && access(busybox, X_OK) == 0 }
    /// Run the test when it can run, and in CI, where a missing prerequisite must fail it.
    static var enabled: Bool { available || inCI }
    static let missing: Comment = "needs root and /bin/busybox (apt-get install busybox-static)"
}

/// A temporary busybox root, removed by `remove()`.
struct BusyboxRoot {
    static let applets = [
        "sh", "echo", "cat", "id", "ls", "sleep", "mount", "umount", "ps", "hostname", "pwd", "grep",
        "cut", "true", "false", "env", "touch", "mkdir", "unshare", "reboot", "wc", "tr", "head", "stat", "mknod",
        "readlink", "test",
    ]
    let path: String

    init() throws {
        var template = Array("/tmp/kiln-runtest-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw POSIXError(.EIO)
        }
        path = String(cString: made)
        chmod(path, 0o755)  // mkdtemp makes it 0700; an image's / is 0755
        let fm = FileManager.default
        for dir in ["bin", "etc", "tmp", "mnt", "home/app", "work"] {
            try fm.createDirectory(atPath: "\(path)/\(dir)", withIntermediateDirectories: true)
        }
        chmod("\(path)/tmp", 0o1777)
        try fm.copyItem(atPath: Prerequisites.busybox, toPath: "\(path)/bin/busybox")
        for applet in Self.applets {
            try fm.createSymbolicLink(atPath: "\(path)/bin/\(applet)", withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n"
            .write(toFile: "\(path)/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\napp:x:1000:\nextra:x:1001:app\n"
            .write(toFile: "\(path)/etc/group", atomically: false, encoding: .utf8)
        chown("\(path)/home/app", 1000, 1000)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Entries of the root's top level and /etc, to prove nothing was left behind.
    func listing() throws -> [String] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: path).sorted()
            + fm.contentsOfDirectory(atPath: "\(path)/etc").sorted().map { "etc/\($0)" }
    }
}

/// Collects a step's output lines from the Runner's thread.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// Command lines of every process on the host whose cmdline contains `needle`.
func hostProcesses(matching needle: String) -> [String] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let text = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        return text.contains(needle) ? "\(pid): \(text)" : nil
    }
}

/// Lines of the test process's mountinfo that mention `path`.
func hostMounts(under path: String) throws -> [String] {
    try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").map(String.init).filter { $0.contains(path) }
}
