// ADD <url>: downloaded with libcurl from a server the test starts on 127.0.0.1; Docker's
// rules for the name, mode (0600), mtime (Last-Modified), --chown and --checksum; an HTTP error
// fails the build.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("ADD from URLs", .serialized)
struct AddURLTests {
    /// `python3 -m http.server` serving `directory` on a free loopback port.
    static func withServer<T>(_ directory: String, _ body: (Int) async throws -> T) async throws -> T {
        let port = try LoopbackPort.free()
        let server = try BackgroundProcess(
            name: "http.server", executable: "python3",
            arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory],
            outputPath: directory + "/../http.log")
        defer { server.stop() }
        _ = await BackgroundProcess.waitUntil(timeout: 10) { LoopbackPort.isListening(port) }
        return try await body(port)
    }

    @Test("name, mode, mtime, --chown, ARG in the URL, --checksum")
    func download() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("www")
        _ = try tree.write("www/tool.sh", "#!/bin/sh\necho tool\n")
        // Last-Modified comes from the file's mtime: 2021-01-01T00:00:00Z.
        var times = [timespec(tv_sec: 1_609_459_200, tv_nsec: 0), timespec(tv_sec: 1_609_459_200, tv_nsec: 0)]
        utimensat(AT_FDCWD, tree.url("www/tool.sh"), &times, 0)
        let sum = Digest.sha256(of: "#!/bin/sh\necho tool\n")
        try await Self.withServer(tree.url("www")) { port in
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM scratch
                    ARG PORT
                    ADD http://127.0.0.1:${PORT}/tool.sh /dl/
                    ADD --chown=5:6 http://127.0.0.1:${PORT}/tool.sh /owned.sh
                    ADD --checksum=\(sum) http://127.0.0.1:${PORT}/tool.sh /checked.sh
                    """, in: tree)
            let build = try await LayoutBuild.run(context: ctx, in: tree, ["--build-arg", "PORT=\(port)"])
            #expect(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            #expect(try String(contentsOfFile: root + "/dl/tool.sh", encoding: .utf8) == "#!/bin/sh\necho tool\n")
            let st = try #require(fileStat(root + "/dl/tool.sh"))
            #expect(st.st_mode & 0o7777 == 0o600)
            #expect(st.st_mtim.tv_sec == 1_609_459_200)
            let owned = try #require(fileStat(root + "/owned.sh"))
            #expect(owned.st_uid == 5 && owned.st_gid == 6)
            #expect(FileManager.default.fileExists(atPath: root + "/checked.sh"))
        }
    }

    @Test("a 404 and a wrong --checksum fail the build with the URL in the message")
    func failures() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("www")
        _ = try tree.write("www/f", "content")
        try await Self.withServer(tree.url("www")) { port in
            let missing = try makeContext([:], dockerfile: "FROM scratch\nADD http://127.0.0.1:\(port)/nope /x\n", in: tree)
            let r = try await KilnCommand.run(["-c", missing, "--oci-layout-path", tree.url("o1")])
            #expect(r.exitCode == 1, "\(r)")
            #expect(r.stderr.contains("Dockerfile:2") && r.stderr.contains("HTTP 404") && r.stderr.contains("/nope"), "\(r)")
            let wrong = "sha256:" + String(repeating: "0", count: 64)
            let bad = try makeContext([:], dockerfile: "FROM scratch\nADD --checksum=\(wrong) http://127.0.0.1:\(port)/f /x\n", in: tree)
            let c = try await KilnCommand.run(["-c", bad, "--oci-layout-path", tree.url("o2")])
            #expect(c.exitCode == 1, "\(c)")
            #expect(c.stderr.contains("checksum mismatch"), "\(c)")
        }
    }
}
