// Changes only root can make: ownership, device nodes, trusted.* and security.capability xattrs.
// CI runs as root, so these never skip there (`TestPrivileges.rootOrCI`).
import Foundation
import PluginAPI
import TestSupport
import Testing

/// `setcap` from Debian's libcap2-bin.
let setcapPath = ["/usr/sbin/setcap", "/sbin/setcap", "/usr/bin/setcap"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// A raw v2 `security.capability` value granting cap_net_raw (bit 13), effective.
let rawNetRawCapability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)

@Suite("Privileged changes (root)", .enabled(if: TestPrivileges.rootOrCI, "needs root: mknod, chown, trusted.* and security.* xattrs"))
struct PrivilegedChangeTests {
    @Test(arguments: snapshotModes)
    func reportsOwnersDevicesAndExtendedAttributes(mode: String) async throws {
        try #require(TestPrivileges.isRoot, "this test needs root (CI runs the suite as root)")
        let setcap = try #require(setcapPath, "setcap not found: install libcap2-bin")
        let tree = try TemporaryTree(prefix: "kiln-snap-root")
        defer { tree.remove() }
        for name in ["ping", "raw", "had", "owned"] { try tree.write(name, "binary", mode: 0o755) }
        try tree.makeDirectory("dir")
        try tree.symlink("sym", to: "owned")
        try tree.device("dev", major: 1, minor: 3)
        try tree.setXattr("had", "trusted.kiln.old", Array("old".utf8))
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        #expect(before.records["had"]?.xattrs == ["trusted.kiln.old": Array("old".utf8)])
        #expect(before.records["dev"]?.type == .characterDevice)
        #expect(before.records["dev"]?.rdev == (1 << 8 | 3))
        try await SnapshotPlugins.settle()

        let result = try await ProcessRunner.run(setcap, ["cap_net_bind_service+ep", tree.url("ping")])
        #expect(result.exitCode == 0, "\(result)")
        try tree.setXattr("raw", "security.capability", rawNetRawCapability)
        try tree.setXattr("dir", "trusted.kiln.note", Array("hello".utf8))
        try tree.removeXattr("had", "trusted.kiln.old")
        try tree.chown("owned", uid: 1234, gid: 5678)
        try tree.chown("sym", uid: 4321, gid: 8765)  // the link itself (lchown)
        try tree.remove("dev")
        try tree.device("dev", major: 1, minor: 5)
        try tree.device("blk", major: 7, minor: 0, block: true)
        let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())

        #expect(changes.addedPaths == ["blk"])
        #expect(changes.modifiedPaths == ["dev", "dir", "had", "owned", "ping", "raw", "sym"])
        #expect(changes.deleted.isEmpty)
        let byPath = Dictionary(uniqueKeysWithValues: changes.upserted.map { ($0.path, $0) })
        let ping = try #require(byPath["ping"]?.xattrs["security.capability"])
        #expect(Array(ping[4..<8]) == [0x00, 0x04, 0x00, 0x00], "cap_net_bind_service is bit 10 of the permitted set")
        #expect(byPath["raw"]?.xattrs["security.capability"] == rawNetRawCapability)
        #expect(byPath["dir"]?.xattrs == ["trusted.kiln.note": Array("hello".utf8)])
        #expect(byPath["had"]?.xattrs == [:])
        #expect(byPath["owned"]?.uid == 1234 && byPath["owned"]?.gid == 5678)
        #expect(byPath["sym"]?.uid == 4321 && byPath["sym"]?.type == .symlink)
        #expect(byPath["dev"]?.rdev == (1 << 8 | 5) && byPath["dev"]?.type == .characterDevice)
        #expect(byPath["blk"]?.type == .blockDevice && byPath["blk"]?.rdev == (7 << 8))
    }

    /// An xattr change moves nothing but ctime, so both modes must look at xattrs exactly for the
    /// entries whose ctime moved — one here, not the whole tree.
    @Test(arguments: snapshotModes)
    func readsExtendedAttributesOnlyWhereCtimeMoved(mode: String) async throws {
        try #require(TestPrivileges.isRoot, "this test needs root (CI runs the suite as root)")
        let tree = try TemporaryTree(prefix: "kiln-snap-xattr")
        defer { tree.remove() }
        for i in 0..<20 { try tree.write("f\(i)", "same") }
        try await SnapshotPlugins.settle()
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        #expect(before.statistics.extendedAttributeReads == 20)
        try await SnapshotPlugins.settle()
        try tree.setXattr("f7", "trusted.kiln", [1, 2, 3])
        try await SnapshotPlugins.settle()
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.modifiedPaths == ["f7"])
        #expect(changes.modified.first?.xattrs == ["trusted.kiln": [1, 2, 3]])
        #expect(after.statistics.extendedAttributeReads == 1)
        #expect(after.statistics.filesHashed == (mode == "full" ? 1 : 0))
    }
}
