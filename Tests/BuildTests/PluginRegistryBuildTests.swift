// "Drop in a custom registry plugin": a plugin built outside this package (it links only
// PluginAPI) is put in a directory, selected with --registry-plugin, and a build pushes through
// it; a second build pulls its base image back through it.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Builds through an out-of-package registry plugin", .serialized)
struct PluginRegistryBuildTests {
    @Test("push with the directory plugin, then build FROM what it stored")
    func pushAndPullThroughPlugin() async throws {
        let products = try await FixturePackage.shared.productsDirectory(of: "DirectoryRegistryPlugin")
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("plugins")
        try FileManager.default.copyItem(
            atPath: products + "/libKilnPluginDirectoryRegistry.so",
            toPath: tree.url("plugins/libKilnPluginDirectoryRegistry.so"))
        try tree.makeDirectory("registry")
        let common = [
            "--plugin-dir", tree.url("plugins"), "--registry-plugin", "directory",
            "--plugin-option", "directory=\(tree.url("registry"))",
        ]

        let push = try await KilnCommand.run(["-c", Repo.helloExample, "-d", "example.test/fixture/hello:1", "--reproducible"] + common)
        #expect(push.exitCode == 0, "\(push)")
        let digest = push.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let repo = tree.url("registry/fixture/hello")
        #expect(try String(contentsOfFile: repo + "/tags/1", encoding: .utf8) == digest)

        // Every blob the manifest names is stored under its own digest.
        let manifestBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: repo + "/manifests/sha256/" + digest.dropFirst(7))))
        let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes)
        #expect(manifest.layers.count == 3)
        for d in manifest.layers + [manifest.config] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: repo + "/blobs/sha256/" + d.digest.encoded)))
            #expect(Digest.sha256(of: bytes) == d.digest)
            #expect(Int64(bytes.count) == d.size)
        }

        // The same plugin serves the base image of the next build.
        let ctx = try makeContext(
            ["extra.txt": "extra"], dockerfile: "FROM example.test/fixture/hello:1\nCOPY extra.txt /app/extra.txt\n", in: tree)
        let layout = tree.url("layout")
        let pull = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", layout] + common)
        #expect(pull.exitCode == 0, "\(pull)")
        let rootfs = try await LayoutBuild(result: pull, layout: layout).unpack(into: tree)
        #expect(try String(contentsOfFile: rootfs + "/app/motd", encoding: .utf8) == "hello from a kiln build stage\n")
        #expect(try String(contentsOfFile: rootfs + "/app/extra.txt", encoding: .utf8) == "extra")
    }

    @Test("an unknown --registry-plugin is refused before the build, naming what is available")
    func unknownPlugin() async throws {
        let r = try await KilnCommand.run(["-c", Repo.helloExample, "-d", "example.test/x:1", "--registry-plugin", "nope"])
        #expect(r.exitCode == 1, "\(r)")
        #expect(r.stderr.contains("no registry plugin 'nope'") && r.stderr.contains("oci"), "\(r)")
    }
}
