// A tree with every file type and the metadata layers must carry.
import CArchive
import CKilnSys
import Foundation
import Glibc
import PluginAPI
import SystemCalls

@testable import Archive

enum SampleTree {
    /// Builds the tree under `root`: regular files (one setuid, one with xattrs incl.
    /// security.capability, a 3 MiB one), a hardlink pair, a symlink (relative and absolute),
    /// a sticky dir, a setgid dir with odd owner, a fifo and (as root) a char device.
    static func make(at root: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/srv/shared", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/dev", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        try writeFile(root + "/usr/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try writeFile(root + "/usr/bin/su", "setuid binary\n")
        chmod(root + "/usr/bin/su", 0o4755)
        try writeFile(root + "/usr/bin/ping", "cap binary\n", mode: 0o755)
        try setXattr(root + "/usr/bin/ping", "security.capability", netBindServiceCapability)
        try setXattr(root + "/usr/bin/ping", "user.comment", Array("hello xattr".utf8))
        var big = [UInt8](repeating: 0, count: 3 << 20)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        try Data(big).write(to: URL(fileURLWithPath: root + "/usr/bin/big"))
        try writeFile(root + "/usr/bin/perl", "perl\n", mode: 0o755)
        link(root + "/usr/bin/perl", root + "/usr/bin/perl5.36")
        symlink("perl", root + "/usr/bin/perl-link")
        symlink("/usr/bin/tool", root + "/usr/bin/abs-link")
        chmod(root + "/tmp", 0o1777)
        chown(root + "/srv/shared", 1000, 50)
        chmod(root + "/srv/shared", 0o2775)
        try writeFile(root + "/srv/shared/note", "owned\n", mode: 0o640)
        chown(root + "/srv/shared/note", 1234, 4321)
        mkfifo(root + "/dev/fifo", 0o620)
        chmod(root + "/dev/fifo", 0o620)  // the umask applied to mkfifo
        if geteuid() == 0 {
            mknod(root + "/dev/null", mode_t(ModeBits.character) | 0o666, dev_t(kiln_makedev(1, 3)))
            chmod(root + "/dev/null", 0o666)
        }
        // Sub-second mtimes must survive the round trip.
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789)]
        utimensat(AT_FDCWD, root + "/usr/bin/tool", &times, 0)
        times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 5), timespec(tv_sec: 1_500_000_000, tv_nsec: 5)]
        utimensat(AT_FDCWD, root + "/srv/shared", &times, 0)
    }

    /// Writes every entry under `root` into a layer (parents first, sorted), as COPY would.
    static func layer(of root: String, to path: String, options: LayerWriter.Options = .init()) throws -> LayerBlob {
        let writer = try LayerWriter(path: path, options: options)
        try writer.addTree(root: root, directory: "")
        return try writer.finish()
    }
}
