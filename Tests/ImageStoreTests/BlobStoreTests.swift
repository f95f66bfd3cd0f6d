import Foundation
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite struct BlobStoreTests {
    @Test func putBytesIsContentAddressedAndIdempotent() throws {
        let dir = try FixtureDirectory(prefix: "kiln-blobs")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.path)
        let bytes = Array("{\"a\":1}".utf8)
        let digest = try store.put(bytes)
        #expect(digest == Digest.sha256(of: bytes))
        #expect(store.path(for: digest) == "\(dir.path)/blobs/sha256/\(digest.encoded)")
        #expect(store.contains(digest))
        #expect(try store.read(digest) == bytes)
        #expect(try store.size(of: digest) == Int64(bytes.count))
        #expect(try store.put(bytes) == digest)
        // No temporary files left behind by the atomic writes.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/blobs/sha256")
        #expect(names == [digest.encoded])
    }

    @Test func concurrentWritersOfOneBlobAgree() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-blobs")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.path)
        let bytes = [UInt8](repeating: 7, count: 256 * 1024)
        let digests = try await withThrowingTaskGroup(of: Digest.self) { group in
            for _ in 0..<16 { group.addTask { try store.put(bytes) } }
            return try await group.reduce(into: Set<Digest>()) { $0.insert($1) }
        }
        #expect(digests == [Digest.sha256(of: bytes)])
        try await store.verify(Digest.sha256(of: bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/blobs/sha256").count == 1)
    }

    @Test func missingBlobSaysWhereItShouldBe() throws {
        let dir = try FixtureDirectory(prefix: "kiln-blobs")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.path)
        let absent = Digest.sha256(of: "absent")
        #expect(!store.contains(absent))
        let error = #expect(throws: BlobStore.Error.self) { try store.read(absent) }
        #expect(error?.description.contains(store.path(for: absent)) == true)
    }

    @Test(arguments: [BlobStore.PutMode.move, .link, .copy])
    func putFileBringsTheFileIn(mode: BlobStore.PutMode) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-blobs")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.path + "/store")
        let source = try dir.write("layer bytes", to: "layer.tar")
        let digest = Digest.sha256(of: "layer bytes")
        try await store.put(fileAt: source, digest: digest, mode: mode)
        #expect(try store.read(digest) == Array("layer bytes".utf8))
        #expect(FileManager.default.fileExists(atPath: source) == (mode != .move))
        var a = stat()
        var b = stat()
        if mode != .move, stat(source, &a) == 0, stat(store.path(for: digest), &b) == 0 {
            #expect((a.st_ino == b.st_ino) == (mode == .link))
        }
        // A second put of the same digest leaves the stored blob alone.
        let again = try dir.write("layer bytes", to: "again.tar")
        try await store.put(fileAt: again, digest: digest, mode: mode)
        try await store.verify(digest)
    }

    @Test func putFromAnotherStoreAndVerifyCatchesTampering() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-blobs")
        defer { dir.remove() }
        let work = try BlobStore(root: dir.path + "/work")
        let layout = try BlobStore(root: dir.path + "/layout")
        let digest = try work.put(Array("config".utf8))
        try await layout.put(digest, from: work)
        try await layout.verify(digest)
        try "tampered".write(toFile: work.path(for: digest) + ".x", atomically: false, encoding: .utf8)
        let tampered = Digest.sha256(of: "something else")
        try FileManager.default.moveItem(atPath: work.path(for: digest) + ".x", toPath: work.path(for: tampered))
        await #expect(
            throws: BlobStore.Error.digestMismatch(
                expected: tampered, actual: Digest.sha256(of: "tampered"), path: work.path(for: tampered))
        ) {
            try await work.verify(tampered)
        }
    }
}
