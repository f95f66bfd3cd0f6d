// Names are bytes in snapshots (issue 12, item 6): names that are not UTF-8, and UTF-8 names
// that differ only in Unicode normalisation (equal as Swift strings), stay distinct records
// whose changes are reported with their exact bytes, in both modes.
import Glibc
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Snapshot names are bytes (both modes)")
struct ByteNameSnapshotTests {
    static let latin1E9 = BytePath(bytes: Array("caf".utf8) + [0xE9])
    static let latin1E8 = BytePath(bytes: Array("caf".utf8) + [0xE8])
    static let nfc = BytePath(bytes: Array("n".utf8) + [0xC3, 0xA9])
    static let nfd = BytePath(bytes: Array("n".utf8) + [0x65, 0xCC, 0x81])

    static func create(_ tree: TemporaryTree, _ name: BytePath, _ text: String) throws {
        let fd = (BytePath(tree.path) + "/" + name).withCString { open($0, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644) }
        try #require(fd >= 0)
        defer { close(fd) }
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test(arguments: snapshotModes)
    func namesThatCollideAsStringsStayApart(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-bytes")
        defer { tree.remove() }
        for name in [Self.latin1E9, Self.latin1E8, Self.nfc, Self.nfd] { try Self.create(tree, name, "old") }
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        #expect(before.records.count == 4)

        #expect((BytePath(tree.path) + "/" + Self.latin1E8).withCString { unlink($0) } == 0)
        #expect((BytePath(tree.path) + "/" + Self.nfd).withCString { unlink($0) } == 0)
        try Self.create(tree, BytePath(bytes: Array("new".utf8) + [0xFF]), "n")
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.deleted == [Self.latin1E8, Self.nfd])
        #expect(changes.addedPaths == [BytePath(bytes: Array("new".utf8) + [0xFF])])
        #expect(changes.modified.isEmpty)
        #expect(after.records.keys.sorted() == [Self.latin1E9, Self.nfc, BytePath(bytes: Array("new".utf8) + [0xFF])].sorted())
    }
}
