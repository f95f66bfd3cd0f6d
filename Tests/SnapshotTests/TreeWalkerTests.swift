// The PluginAPI tree walker on real directories: every lstat field, ignore lists, mount points,
// names it cannot represent.
import Foundation
import Glibc
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("TreeWalker")
struct TreeWalkerTests {
    @Test func recordsEveryFieldFromLstat() throws {
        let tree = try TemporaryTree(prefix: "kiln-walk-fields")
        defer { tree.remove() }
        try tree.makeDirectory("bin")
        try tree.write("bin/tool", "#!/bin/sh\n", mode: 0o755)
        try tree.chmod("bin/tool", 0o4755)
        try tree.makeDirectory("tmp")
        try tree.chmod("tmp", 0o1777)
        try tree.hardlink("bin/tool-again", to: "bin/tool")
        try tree.symlink("bin/sh", to: "/bin/dash")
        try tree.fifo("fifo", mode: 0o600)
        let stamp = FileTime(seconds: 1_600_000_000, nanoseconds: 123_456_789)
        try tree.setModificationTime("bin/tool", stamp)
        try tree.setModificationTime("bin/sh", FileTime(seconds: 1_234_567_890, nanoseconds: 1))

        let records = try TreeWalker(root: tree.path).records()
        let byPath = Dictionary(uniqueKeysWithValues: records.map { ($0.path, $0) })
        #expect(byPath.keys.sorted() == ["bin", "bin/sh", "bin/tool", "bin/tool-again", "fifo", "tmp"])
        let tool = try #require(byPath["bin/tool"])
        let st = try tree.lstat("bin/tool")
        #expect(tool.type == .regular && tool.permissions == 0o4755 && tool.size == 10)
        #expect(tool.mtime == stamp && tool.ctime == st.ctime)
        #expect(tool.inode == st.inode && tool.device == st.device && tool.linkCount == 2)
        #expect(tool.uid == geteuid() && tool.gid == getegid())
        #expect(byPath["bin/tool-again"]?.inode == tool.inode)
        #expect(byPath["tmp"]?.type == .directory && byPath["tmp"]?.permissions == 0o1777)
        #expect(byPath["bin/sh"]?.type == .symlink && byPath["bin/sh"]?.linkTarget == "/bin/dash")
        #expect(byPath["bin/sh"]?.mtime == FileTime(seconds: 1_234_567_890, nanoseconds: 1))
        #expect(byPath["fifo"]?.type == .fifo && byPath["fifo"]?.permissions == 0o600)
        #expect(records.allSatisfy { $0.xattrs.isEmpty && $0.contentDigest == nil && !$0.path.hasPrefix("/") })
        // Pre-order: a directory comes before its entries.
        let order = records.map(\.path)
        #expect(try #require(order.firstIndex(of: "bin")) < (try #require(order.firstIndex(of: "bin/tool"))))
    }

    @Test(.enabled(if: TestPrivileges.rootOrCI, "trusted.* xattrs need root"))
    func readsExtendedAttributesOnlyWhenAsked() throws {
        try #require(TestPrivileges.isRoot, "this test needs root (CI runs the suite as root)")
        let tree = try TemporaryTree(prefix: "kiln-walk-xattr")
        defer { tree.remove() }
        try tree.write("f", "x")
        try tree.setXattr("f", "trusted.a", [0, 1, 2])
        try tree.setXattr("f", "trusted.empty", [])
        #expect(try TreeWalker(root: tree.path).records().first?.xattrs == [:])
        let withXattrs = try TreeWalker(root: tree.path, readsExtendedAttributes: true).records()
        #expect(withXattrs.first?.xattrs == ["trusted.a": [0, 1, 2], "trusted.empty": []])
    }

    @Test func skipsIgnoredSubtreesWithoutDescending() throws {
        let tree = try TemporaryTree(prefix: "kiln-walk-ignore")
        defer { tree.remove() }
        for d in ["proc", "proc/1", "keep", "keep/cache", "keep/cache/deep"] { try tree.makeDirectory(d) }
        try tree.write("proc/1/status", "s")
        try tree.write("keep/cache/deep/blob", "b")
        try tree.write("keep/file", "f")
        // Prove the walker never opens an ignored directory: one it could not read would throw.
        try tree.chmod("proc", 0o000)
        defer { try? tree.chmod("proc", 0o755) }
        var visited: [BytePath] = []
        try TreeWalker(root: tree.path, ignoring: IgnoreList(["/proc", "/keep/cache"])).walk { visited.append($0.path) }
        #expect(visited.sorted() == ["keep", "keep/file"])
    }

    @Test(.enabled(if: TestPrivileges.rootOrCI, "mounting a tmpfs needs root"))
    func neverCrossesIntoAnIgnoredMountPoint() async throws {
        try #require(TestPrivileges.isRoot, "this test needs root (CI runs the suite as root)")
        let tree = try TemporaryTree(prefix: "kiln-walk-mount")
        defer { tree.remove() }
        try tree.makeDirectory("mnt")
        try tree.write("top", "t")
        let mount = try await ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "kiln-test", tree.url("mnt")])
        try #require(mount.exitCode == 0, "mount failed: \(mount)")
        defer { _ = umount2(tree.url("mnt"), Int32(MNT_DETACH)) }
        try tree.write("mnt/inside", "i")

        let all = try TreeWalker(root: tree.path).records()
        let inside = try #require(all.first { $0.path == "mnt/inside" })
        #expect(inside.device != all.first { $0.path == "top" }?.device, "the tmpfs is another device")
        let walked = try TreeWalker(root: tree.path, ignoring: IgnoreList(["/mnt"])).records()
        #expect(walked.map(\.path) == ["top"])
    }

    @Test func recordsNamesAsTheirBytes() throws {
        let tree = try TemporaryTree(prefix: "kiln-walk-bytes")
        defer { tree.remove() }
        // Latin-1 `café`/`cafè` (not UTF-8), and NFC/NFD `é` (both UTF-8, equal as Swift strings).
        let names: [[UInt8]] = [
            Array("caf".utf8) + [0xE9], Array("caf".utf8) + [0xE8], Array("n".utf8) + [0xC3, 0xA9], Array("n".utf8) + [0x65, 0xCC, 0x81],
        ]
        for name in names {
            let fd = (BytePath(tree.path) + "/" + BytePath(bytes: name)).withCString { open($0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
            try #require(fd >= 0)
            close(fd)
        }
        let link = BytePath(tree.path) + "/link"
        #expect(BytePath(bytes: names[0]).withCString { target in link.withCString { symlink(target, $0) } } == 0)
        let records = try TreeWalker(root: tree.path).records()
        #expect(records.map(\.path).sorted() == (names.map { BytePath(bytes: $0) } + ["link"]).sorted())
        #expect(records.first { $0.path == "link" }?.linkTarget == BytePath(bytes: names[0]))
    }

    @Test func missingRootIsAnErrorNamingIt() throws {
        let error = #expect(throws: TreeWalker.Error.self) {
            try TreeWalker(root: "/nonexistent/kiln-root").records()
        }
        #expect(error?.description.contains("/nonexistent/kiln-root") == true)
    }
}
