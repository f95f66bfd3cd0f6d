// The mtime race kaniko's README warns about: a change made within the same timestamp tick as the
// snapshot that recorded the file leaves its stat data unchanged. Neither mode may miss it.
import Glibc
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Racy timestamps")
struct RacyTimestampTests {
    /// Written, snapshotted and rewritten (same size, same inode, no timestamp set by hand) as
    /// fast as possible: on a coarse clock the rewrite usually lands in the tick of the first write.
    @Test(arguments: ["time", "full"])
    func aSameSizeRewriteRightAfterASnapshotIsReported(mode: String) async throws {
        let strategy = try SnapshotPlugins.strategy(mode)
        var missed = 0
        // A few rounds: one round in which the rewrite falls into the next tick proves nothing.
        for round in 0..<5 {
            let tree = try TemporaryTree(prefix: "kiln-snap-racy-\(mode)-\(round)")
            defer { tree.remove() }
            try tree.write("counter", "0001")
            let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
            let fd = open(tree.url("counter"), O_WRONLY)
            try #require(fd >= 0)
            _ = "0002".withCString { write(fd, $0, 4) }
            close(fd)
            let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
            if changes.modified.map(\.path) != ["counter"] { missed += 1 }
        }
        #expect(missed == 0, "\(mode) missed \(missed) of 5 same-tick rewrites")
    }
}
