// File names are bytes (issue 12, item 6): a name that is not UTF-8 goes from a base layer, a
// RUN step or the build context into kiln's layers exactly, byte for byte, as kaniko and buildah
// carry it. Swift strings would turn `caf\xE9` and `caf\xE8` into one `caf\u{FFFD}` and lose a
// file. Layers are read back with Python's tarfile (surrogateescape), independent of libarchive.
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

@Suite("File names are bytes", .serialized)
struct ByteNameTests {
    /// `caf\xE9` and `caf\xE8`: Latin-1 `café` and `cafè`, which differ only in a byte that is not UTF-8.
    static let e9 = Array("caf".utf8) + [0xE9]
    static let e8 = Array("caf".utf8) + [0xE8]

    @Test("two names of a base layer that differ only in invalid bytes both reach RUN and COPY --from")
    func baseLayerNamesSurvive() async throws {
        try await withRegistry(.plain) { registry in
            let tree = try TemporaryTree(prefix: "kiln-bytes-base")
            defer { tree.remove() }
            let base = try await Self.pushBase(to: registry, in: tree)
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM \(base) AS b
                    RUN cat /d/caf* > /both && readlink /d/link > /target
                    FROM scratch
                    COPY --from=b /d /copied/
                    COPY --from=b /both /target /
                    """, in: tree)
            let build = try await LayoutBuild.run(context: ctx, in: tree, ["--insecure-registry", registry.host])
            #expect(build.result.exitCode == 0, "\(build.result)")
            guard build.result.exitCode == 0 else { return }
            let entries = try Self.entries(of: build.image().layers.map { Self.blob(build.layout, $0.descriptor.digest) })
            #expect(entries[Self.path("copied/", Self.e9)]?.data == Array("E9".utf8))
            #expect(entries[Self.path("copied/", Self.e8)]?.data == Array("E8".utf8))
            #expect(entries[Self.path("copied/link")]?.link == Self.e9)
            // Both files were in the RUN step's root, under their own names.
            #expect(entries[Self.path("both")]?.data == Array("E8E9".utf8))
            #expect(entries[Self.path("target")]?.data == Self.e9 + [0x0A])
        }
    }

    @Test("RUN creates a name that is not UTF-8 and deletes one: exact name, exact whiteout", arguments: ["time", "full"])
    func runStepNames(mode: String) async throws {
        try await withRegistry(.plain) { registry in
            let tree = try TemporaryTree(prefix: "kiln-bytes-run")
            defer { tree.remove() }
            let base = try await Self.pushBase(to: registry, in: tree)
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM \(base)
                    RUN printf new > "$(printf '/made\\351')" && rm "$(printf '/d/caf\\350')"
                    """, in: tree)
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, ["--insecure-registry", registry.host, "--snapshot-mode", mode])
            #expect(build.result.exitCode == 0, "\(build.result)")
            guard build.result.exitCode == 0, let last = try build.image().layers.last else { return }
            let entries = try Self.entries(of: [Self.blob(build.layout, last.descriptor.digest)])
            #expect(entries[Self.path("made", [0xE9])]?.data == Array("new".utf8), "\(entries.keys.map(\.description))")
            #expect(entries[Self.path("d/.wh.", Self.e8)] != nil, "\(entries.keys.map(\.description))")
            #expect(entries[Self.path("d/.wh.", Self.e9)] == nil)
            #expect(!entries.keys.contains { $0.bytes.contains(0xEF) }, "no U+FFFD (EF BF BD) in any name")
        }
    }

    @Test("RUN creates names that differ only in Unicode normalisation: both reach the layer", arguments: ["time", "full"])
    func normalisationVariants(mode: String) async throws {
        try await withRegistry(.plain) { registry in
            let tree = try TemporaryTree(prefix: "kiln-bytes-nfc")
            defer { tree.remove() }
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            // NFC `é` (C3 A9) and NFD `é` (65 CC 81): valid UTF-8, equal as Swift strings.
            let ctx = try makeContext(
                [:], dockerfile: "FROM \(base)\nRUN echo c > \"$(printf '/n\\303\\251')\" && echo d > \"$(printf '/ne\\314\\201')\"\n",
                in: tree)
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, ["--insecure-registry", registry.host, "--snapshot-mode", mode])
            #expect(build.result.exitCode == 0, "\(build.result)")
            guard build.result.exitCode == 0, let last = try build.image().layers.last else { return }
            let entries = try Self.entries(of: [Self.blob(build.layout, last.descriptor.digest)])
            #expect(entries[Self.path("n", [0xC3, 0xA9])]?.data == Array("c\n".utf8), "\(entries.keys.map(\.description))")
            #expect(entries[Self.path("n", [0x65, 0xCC, 0x81])]?.data == Array("d\n".utf8), "\(entries.keys.map(\.description))")
        }
    }

    @Test("COPY . and globs copy context names that are not UTF-8 exactly, and .dockerignore still applies")
    func contextNames() async throws {
        let tree = try TemporaryTree(prefix: "kiln-bytes-ctx")
        defer { tree.remove() }
        let ctx = try makeContext(
            [".dockerignore": "skip*\n"], dockerfile: "FROM scratch\nCOPY . /dst/\nCOPY caf* /glob/\nCOPY sub* /globdir/\n", in: tree)
        try Self.write(ctx, Self.e9, "E9")
        try Self.write(ctx, Self.e8, "E8")
        try Self.write(ctx, Array("skip".utf8) + [0xFF], "no")
        let sub = BytePath(ctx) + "/" + BytePath(bytes: Array("sub".utf8) + [0xFE])
        #expect(sub.withCString { mkdir($0, 0o755) } == 0)
        try Self.write(ctx, Array("sub".utf8) + [0xFE, 0x2F, 0x78], "x")
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        guard build.result.exitCode == 0 else { return }
        let entries = try Self.entries(of: build.image().layers.map { Self.blob(build.layout, $0.descriptor.digest) })
        #expect(entries[Self.path("dst/", Self.e9)]?.data == Array("E9".utf8))
        #expect(entries[Self.path("dst/", Self.e8)]?.data == Array("E8".utf8))
        #expect(entries[Self.path("dst/sub", [0xFE, 0x2F, 0x78])]?.data == Array("x".utf8))
        #expect(!entries.keys.contains { $0.hasPrefix("dst/skip") }, "\(entries.keys.map(\.description))")
        // Globs match such names too (each bad byte reads as U+FFFD, as in Go) and copy them exactly.
        #expect(entries[Self.path("glob/", Self.e9)]?.data == Array("E9".utf8))
        #expect(entries[Self.path("glob/", Self.e8)]?.data == Array("E8".utf8))
        #expect(entries[Self.path("globdir/x")]?.data == Array("x".utf8))
    }

    // MARK: - Helpers

    /// busybox plus a layer (written by umoci, a Go tar writer) holding `/d/caf\xE9` ("E9"),
    /// `/d/caf\xE8` ("E8") and `/d/link` → `caf\xE9`; pushed to `registry`.
    static func pushBase(to registry: RegistryFixture, in tree: TemporaryTree) async throws -> String {
        let layout = tree.url("base-layout")
        try await ProcessRunner.check("cp", ["-a", try await BaseImageFixture.shared.layout(.busybox), layout])
        try tree.makeDirectory("extra")
        try write(tree.url("extra"), e9, "E9")
        try write(tree.url("extra"), e8, "E8")
        let link = BytePath(tree.url("extra/link"))
        #expect(BytePath(bytes: e9).withCString { target in link.withCString { symlink(target, $0) } } == 0)
        try await ProcessRunner.check("umoci", ["insert", "--image", layout + ":latest", tree.url("extra"), "/d"])
        let reference = "\(registry.host)/bytes-base:latest"
        try await ProcessRunner.check(
            "skopeo", ["copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):latest", "docker://\(reference)"])
        return reference
    }

    /// Writes `text` to `directory/name`, `name` being raw bytes.
    static func write(_ directory: String, _ name: [UInt8], _ text: String) throws {
        let path = BytePath(directory) + "/" + BytePath(bytes: name)
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    static func path(_ prefix: String, _ bytes: [UInt8] = []) -> BytePath { BytePath(bytes: Array(prefix.utf8) + bytes) }

    static func blob(_ layout: String, _ digest: Digest) -> String { "\(layout)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)" }

    struct Entry {
        var link: [UInt8]
        var data: [UInt8]
    }

    /// Every entry of the layer blobs, by name as raw bytes (directories without their `/`),
    /// read by Python's tarfile with `surrogateescape`, so no byte is decoded or replaced.
    static func entries(of blobs: [String]) throws -> [BytePath: Entry] {
        let code = """
            import sys, tarfile
            for path in sys.argv[1:]:
                with tarfile.open(path, 'r:*', encoding='utf-8', errors='surrogateescape') as t:
                    for m in t:
                        name = m.name.encode('utf-8', 'surrogateescape').rstrip(b'/')
                        link = m.linkname.encode('utf-8', 'surrogateescape')
                        data = t.extractfile(m).read() if m.isfile() else b''
                        print(name.hex(), link.hex() or '-', data.hex() or '-')
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ExecutableLookup.require("python3"))
        p.arguments = ["-c", code] + blobs
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw POSIXError(.EIO) }
        var result: [BytePath: Entry] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map { $0 == "-" ? [] : hex(String($0)) }
            guard f.count == 3 else { continue }
            result[BytePath(bytes: f[0])] = Entry(link: f[1], data: f[2])
        }
        return result
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex) {
            out.append(UInt8(s[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }
}
