// Layers read by tools that share no code with kiln: umoci unpacks an OCI layout holding
// kiln's layers (checking digests and diff IDs, applying whiteouts its own way), GNU tar
// extracts a layer.
import Foundation
import Glibc
import PluginAPI
import PluginSupport
import Testing

@testable import Archive

@Suite("Compatibility")
struct CompatibilityTests {
    /// Writes a minimal OCI layout (oci-layout, index.json, manifest, config) around `layers`.
    func layout(at dir: String, layers: [LayerBlob]) throws {
        try FileManager.default.createDirectory(atPath: dir + "/blobs/sha256", withIntermediateDirectories: true)
        func put(_ data: Data) throws -> (String, Int) {
            let d = Digest.sha256(of: [UInt8](data))
            try data.write(to: URL(fileURLWithPath: dir + "/blobs/sha256/" + d.encoded))
            return (d.description, data.count)
        }
        for l in layers { try FileManager.default.copyItem(atPath: l.path, toPath: dir + "/blobs/sha256/" + l.descriptor.digest.encoded) }
        let config: [String: Any] = [
            "architecture": "amd64", "os": "linux", "config": [String: Any](),
            "rootfs": ["type": "layers", "diff_ids": layers.map { $0.diffID.description }],
        ]
        let (cd, cs) = try put(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]))
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue,
            "config": ["mediaType": MediaType.ociConfig.rawValue, "digest": cd, "size": cs],
            "layers": layers.map {
                ["mediaType": $0.descriptor.mediaType.rawValue, "digest": $0.descriptor.digest.description, "size": $0.descriptor.size]
            },
        ]
        let (md, ms) = try put(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
        let index: [String: Any] = [
            "schemaVersion": 2,
            "manifests": [
                [
                    "mediaType": MediaType.ociManifest.rawValue, "digest": md, "size": ms,
                    "annotations": ["org.opencontainers.image.ref.name": "test"],
                ]
            ],
        ]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: dir + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/oci-layout"))
    }

    @Test("umoci unpacks kiln's layers (every file type, then a whiteout/opaque layer) to the same tree", .enabled(if: rootOrCI))
    func umociUnpack() throws {
        requireRoot()
        guard requireTool("umoci") else { return }
        let tmp = try TempDir()
        let work = try tmp.mkdir("work")
        try SampleTree.make(at: work)
        try FileManager.default.createDirectory(atPath: work + "/gone/deep", withIntermediateDirectories: true)
        try writeFile(work + "/gone/deep/f", "f")
        try FileManager.default.createDirectory(atPath: work + "/re/old", withIntermediateDirectories: true)
        try writeFile(work + "/re/old/x", "x")
        let lower = try SampleTree.layer(of: work, to: tmp.sub("lower"))
        var before = try TreeState.capture(work)
        try run(["rm", "-rf", work + "/gone", work + "/re", work + "/usr/bin/su"])
        try FileManager.default.createDirectory(atPath: work + "/re", withIntermediateDirectories: true)
        try writeFile(work + "/re/new", "new")
        let now = try TreeState.record(work, "re").inode
        if before.records["re"]?.inode == now { before.records["re"]?.inode = now + 1_000_000 }
        let changes = TreeState.changes(from: before, to: try TreeState.capture(work))
        let upper = try #require(try LayerWriter.write(changes: changes, root: work, previous: before, to: tmp.sub("upper")))
        #expect(try tarNames(upper.path).contains("re/.wh..wh..opq"))

        try layout(at: tmp.sub("oci"), layers: [lower, upper])
        try run(["umoci", "unpack", "--image", tmp.sub("oci") + ":test", tmp.sub("bundle")])
        #expect(try listing(tmp.sub("bundle/rootfs")) == listing(work))
    }

    @Test("GNU tar extracts a layer to the same tree", .enabled(if: rootOrCI))
    func gnuTarExtract() throws {
        requireRoot()
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        try SampleTree.make(at: src)
        let blob = try SampleTree.layer(of: src, to: tmp.sub("layer.tgz"))
        let out = try tmp.mkdir("out")
        try run(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpzf", blob.path, "-C", out])
        #expect(try listing(out, mtimes: true) == listing(src, mtimes: true))
    }
}
