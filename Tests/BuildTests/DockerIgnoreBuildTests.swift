// `.dockerignore` exceptions under an excluded directory (issue 12, item 4): `COPY . /c/` must
// hold exactly what BuildKit's context walk (fsutil over moby/patternmatcher) sends; an
// excluded directory appears only when something inside it is re-included.
import Foundation
import TestSupport
import Testing

@Suite("COPY honours .dockerignore re-includes under excluded directories", .serialized)
struct DockerIgnoreBuildTests {
    static let files = ["dir/keep", "dir/other", "dir/sub/x", "dir/sub/y", "dir/sub/z", "other/a", "top.txt"]
    static let everywhere = ["Dockerfile", ".dockerignore", "other", "other/a", "top.txt"]

    static let cases: [(ignore: String, expected: [String])] = [
        ("*\n!dir/keep\n", ["dir", "dir/keep"]),
        ("dir\n!dir/sub/x\n", everywhere + ["dir", "dir/sub", "dir/sub/x"]),
        ("dir/*\n!dir/sub/*\n", everywhere + ["dir", "dir/sub", "dir/sub/x", "dir/sub/y", "dir/sub/z"]),
        ("*\n!dir/sub\ndir/sub/y\n", ["dir", "dir/sub", "dir/sub/x", "dir/sub/z"]),
        ("*\n!**/keep\n", ["dir", "dir/keep"]),
    ]

    /// Every path under `root`, relative, sorted.
    static func listing(_ root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { $0 as? String }.sorted()
    }

    @Test(arguments: cases.indices)
    func copyKeepsReincludedPaths(index: Int) async throws {
        let (ignore, expected) = Self.cases[index]
        let tree = try TemporaryTree()
        defer { tree.remove() }
        var files = Dictionary(uniqueKeysWithValues: Self.files.map { ($0, $0) })
        files[".dockerignore"] = ignore
        let ctx = try makeContext(files, dockerfile: "FROM scratch\nCOPY . /c/\n", in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        #expect(Self.listing(root + "/c") == expected.sorted(), "\(ignore)")
    }

    @Test func copyOfAnExcludedDirectoryNamesItsReincludedFiles() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        var files = Dictionary(uniqueKeysWithValues: Self.files.map { ($0, $0) })
        files[".dockerignore"] = "*\n!dir/keep\n"
        let ctx = try makeContext(files, dockerfile: "FROM scratch\nCOPY dir /d/\n", in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        #expect(Self.listing(root + "/d") == ["keep"])
    }
}
