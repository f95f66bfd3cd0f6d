// The kernel's binfmt_misc interface (Documentation/admin-guide/binfmt-misc.rst): reading the
// entries under /proc/sys/fs/binfmt_misc, registering and removing one, mounting the file system
// when it is not, and whether this process may do so.
import FoundationEssentials
import Glibc
import PluginSupport

/// One registration, as `/proc/sys/fs/binfmt_misc/<name>` shows it.
struct BinfmtEntry: Sendable, Equatable {
    var name: String
    var enabled: Bool
    var interpreter: String
    /// Flag letters (`F`, `P`, `O`, `C`).
    var flags: String
    var offset: Int
    /// Empty for an extension-matched entry.
    var magic: [UInt8]
    /// All 0xff when the entry has no mask.
    var mask: [UInt8]

    /// Parses the entry file's text; `nil` for anything that is not a magic entry.
    init?(name: String, text: String) {
        self.name = name
        enabled = false
        interpreter = ""
        flags = ""
        offset = 0
        magic = []
        mask = []
        for line in text.split(separator: "\n") {
            if line == "enabled" { enabled = true }
            if line.hasPrefix("interpreter ") { interpreter = String(line.dropFirst("interpreter ".count)) }
            if line.hasPrefix("flags:") { flags = line.dropFirst("flags:".count).trimmed() }
            if line.hasPrefix("offset ") { offset = Int(line.dropFirst("offset ".count)) ?? 0 }
            if line.hasPrefix("magic ") { magic = Self.bytes(fromHex: line.dropFirst("magic ".count)) ?? [] }
            if line.hasPrefix("mask ") { mask = Self.bytes(fromHex: line.dropFirst("mask ".count)) ?? [] }
        }
        guard !magic.isEmpty, !interpreter.isEmpty else { return nil }
        if mask.count != magic.count { mask = [UInt8](repeating: 0xff, count: magic.count) }
    }

    init(name: String, enabled: Bool, interpreter: String, flags: String, offset: Int, magic: [UInt8], mask: [UInt8]) {
        self.name = name
        self.enabled = enabled
        self.interpreter = interpreter
        self.flags = flags
        self.offset = offset
        self.magic = magic
        self.mask = mask.count == magic.count ? mask : [UInt8](repeating: 0xff, count: magic.count)
    }

    static func bytes<S: StringProtocol>(fromHex hex: S) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let b = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
            i += 2
        }
        return out
    }

    /// The kernel's test (fs/binfmt_misc.c `check_file`): every magic byte equals the file's
    /// byte at `offset + i` in the bits the mask keeps.
    func matches(_ header: [UInt8]) -> Bool {
        guard offset >= 0, offset + magic.count <= header.count else { return false }
        for i in magic.indices where (header[offset + i] ^ magic[i]) & mask[i] != 0 { return false }
        return true
    }

    /// True when the entry runs `arch`'s executables inside any root: enabled, with the F flag
    /// (the interpreter was opened at registration, so it need not exist in the build's root),
    /// and matching every typical ELF header of the architecture.
    func handles(_ arch: QEMUArchitecture) -> Bool {
        enabled && flags.contains("F") && arch.probeHeaders.allSatisfy(matches)
    }
}

/// The binfmt_misc file system at its usual place.
enum BinfmtMisc {
    static let mountPoint = "/proc/sys/fs/binfmt_misc"

    /// What this process sees of binfmt_misc and may do with it.
    struct Snapshot: Sendable {
        var mounted: Bool
        /// The global switch (`status` file); true when not mounted (unknown).
        var enabled: Bool
        var entries: [BinfmtEntry]
        /// Root with CAP_SYS_ADMIN: may mount binfmt_misc and write `register`.
        var privileged: Bool
        /// The kernel has binfmt_misc (the sysctl directory or the file-system type exists).
        var available: Bool

        /// May register an entry (mounting binfmt_misc first if needed).
        var mayRegister: Bool { privileged && available && enabled }
    }

    static func snapshot() -> Snapshot {
        let mounted = isMounted()
        var enabled = true
        var entries: [BinfmtEntry] = []
        if mounted {
            enabled = (read(mountPoint + "/status") ?? "enabled").hasPrefix("enabled")
            entries = readEntries()
        }
        let available =
            FileManager.default.fileExists(atPath: mountPoint)
            || (read("/proc/filesystems") ?? "").contains("binfmt_misc")
        return Snapshot(mounted: mounted, enabled: enabled, entries: entries, privileged: isPrivileged(), available: available)
    }

    /// Whether the top mount at `mountPoint` is binfmt_misc (/proc/self/mountinfo: the mount
    /// point is field 5, the file-system type the first field after " - ").
    static func isMounted() -> Bool {
        guard let info = read("/proc/self/mountinfo") else { return false }
        var top: Substring?
        for line in info.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == mountPoint, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count
            else { continue }
            top = fields[dash + 1]  // later lines are mounted on top of earlier ones
        }
        return top == "binfmt_misc"
    }

    static func readEntries() -> [BinfmtEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: mountPoint)) ?? []
        return names.sorted().compactMap { name in
            guard name != "register", name != "status", let text = read(mountPoint + "/" + name) else { return nil }
            return BinfmtEntry(name: name, text: text)
        }
    }

    /// Root with CAP_SYS_ADMIN in the effective set (bit 21 of /proc/self/status `CapEff`).
    static func isPrivileged() -> Bool {
        guard geteuid() == 0, let status = read("/proc/self/status") else { return false }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmed()
            guard let caps = UInt64(hex, radix: 16) else { return false }
            return caps & (1 << 21) != 0
        }
        return false
    }

    static func mount() throws(QEMUError) {
        guard Glibc.mount("binfmt_misc", mountPoint, "binfmt_misc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) == 0 else {
            throw .system("mount binfmt_misc on \(mountPoint)", errno: errno)
        }
    }

    static func unmount() throws(QEMUError) {
        guard umount2(mountPoint, 0) == 0 else {
            let e = errno
            // Busy (somebody has a file open in it): detach now, the kernel finishes later.
            if e == EBUSY, umount2(mountPoint, Int32(MNT_DETACH)) == 0 { return }
            throw .system("unmount \(mountPoint)", errno: e)
        }
    }

    /// Writes `text` to `path` in one write(2): the kernel parses each write as one command.
    static func writeCommand(_ text: String, to path: String) throws(QEMUError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw .system("write to \(path)", errno: n < 0 ? errno : EIO) }
    }

    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
