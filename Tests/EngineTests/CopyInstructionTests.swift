// COPY and ADD driven in-process: what lands in each layer (paths, modes, owners, content).
import Builder
import Foundation
import TestSupport
import Testing

@Suite("Engine: COPY and ADD", .serialized)
struct CopyInstructionTests {
    @Test("COPY keeps the source's mode, owns by 0:0 and adds parent directories")
    func copyModesAndOwner() async throws {
        let e = try Engine()
        defer { e.remove() }
        try e.file("a.txt", "alpha\n")
        try e.file("bin/run.sh", "#!/bin/sh\n", mode: 0o755)
        chown(e.context + "/a.txt", 1234, 1234)
        let image = try await e.build(
            """
            FROM scratch
            COPY a.txt /a.txt
            COPY bin/ /opt/bin/
            """)
        #expect(image.layers.count == 2)
        let a = try #require(image.layers[0]["a.txt"], "\(image.layers[0])")
        #expect(a.kind == .file && a.mode == 0o644 && a.uid == 0 && a.gid == 0 && a.text == "alpha\n")
        let second = image.layers[1]
        #expect(second["opt"]?.kind == .directory && second["opt/bin"]?.kind == .directory, "\(second)")
        #expect(second["opt/bin/run.sh"]?.mode == 0o755)
        #expect(!second.paths.contains("a.txt"), "an unchanged file was copied into a later layer: \(second)")
        #expect(image.history.count == 2 && image.history.allSatisfy { $0.emptyLayer != true })
    }

    @Test("COPY --chown (numeric and by name) and --chmod (octal and symbolic)")
    func chownAndChmod() async throws {
        let e = try Engine()
        defer { e.remove() }
        try e.file("a.txt", "a\n")
        try e.file("passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
        try e.file("group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n")
        let image = try await e.build(
            """
            FROM scratch
            COPY --chown=1000:2000 a.txt /n/
            COPY --chmod=0600 a.txt /m.txt
            COPY --chmod=u+x,go-r a.txt /s.txt
            COPY passwd group /etc/
            COPY --chown=app:extra a.txt /named.txt
            """)
        let n = try #require(image.entry("n/a.txt"))
        #expect(n.uid == 1000 && n.gid == 2000)
        // BuildKit: directories COPY creates for --chown belong to that owner too.
        #expect(image.entry("n")?.uid == 1000)
        #expect(image.entry("m.txt")?.mode == 0o600)
        #expect(image.entry("s.txt")?.mode == 0o700)
        let named = try #require(image.entry("named.txt"))
        #expect(named.uid == 1000 && named.gid == 2000, "\(named)")
    }

    @Test("COPY globs pick only matching names; several sources need a directory destination")
    func globs() async throws {
        let e = try Engine()
        defer { e.remove() }
        for name in ["x1.txt", "x2.txt", "y.md"] { try e.file(name, name) }
        let image = try await e.build(
            """
            FROM scratch
            COPY x*.txt /d/
            COPY *.md x1.txt /e/
            """)
        #expect(image.layers[0].paths.filter { $0.hasPrefix("d/") }.sorted() == ["d/x1.txt", "d/x2.txt"], "\(image.layers[0])")
        #expect(Set(image.layers[1].paths.filter { $0.hasPrefix("e/") }) == ["e/y.md", "e/x1.txt"], "\(image.layers[1])")
    }

    @Test("COPY of a directory copies its contents, minus what .dockerignore excludes")
    func directoryAndDockerignore() async throws {
        let e = try Engine()
        defer { e.remove() }
        try e.file("src/nested/f.txt", "f\n")
        try e.file("src/secret", "no\n")
        try e.file(".dockerignore", "src/secret\n")
        let image = try await e.build("FROM scratch\nCOPY src /app\n")
        #expect(image.entry("app/nested/f.txt")?.text == "f\n")
        #expect(image.entry("app/secret") == nil, "\(image.lastLayer)")
    }

    @Test("COPY of a heredoc writes a 0644 file")
    func heredoc() async throws {
        let e = try Engine()
        defer { e.remove() }
        let image = try await e.build("FROM scratch\nCOPY <<EOF /greeting\nhello\nEOF\n")
        let g = try #require(image.entry("greeting"))
        #expect(g.text == "hello\n" && g.mode == 0o644 && g.uid == 0)
    }

    @Test("ADD unpacks a local tarball into the destination, keeping the owners it records")
    func addLocalTar() async throws {
        let e = try Engine()
        defer { e.remove() }
        let staging = e.tree.url("tar-src")
        try FileManager.default.createDirectory(atPath: staging + "/inner", withIntermediateDirectories: true)
        try Data("inside\n".utf8).write(to: URL(fileURLWithPath: staging + "/inner/f.txt"))
        try await ProcessRunner.check(
            "tar", ["--owner=7", "--group=8", "--numeric-owner", "-czf", e.context + "/t.tar.gz", "-C", staging, "inner"])
        try e.file("plain.txt", "plain\n", mode: 0o640)
        let image = try await e.build(
            """
            FROM scratch
            ADD t.tar.gz /x/
            ADD plain.txt /y/
            """)
        let f = try #require(image.layers[0]["x/inner/f.txt"], "\(image.layers[0])")
        #expect(f.text == "inside\n" && f.uid == 7 && f.gid == 8)
        #expect(image.layers[0]["x/t.tar.gz"] == nil)
        let plain = try #require(image.layers[1]["y/plain.txt"])
        #expect(plain.mode == 0o640 && plain.uid == 0)
    }
}
