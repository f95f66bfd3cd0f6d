// The interrupt's removal of a working directory (Interruption.DirectoryRemoval): it detaches
// mounts below the directory before walking it, so what a mount shows is never deleted, and it
// removes names that are not UTF-8.
import Foundation
import Glibc
import Testing

@testable import Interruption

@Suite("Interrupt cleanup: removing a working directory", .enabled(if: Prerequisites.enabled, Prerequisites.missing))
struct DirectoryRemovalTests {
    @Test("a bind mount under the directory is detached, not emptied; the rest is removed")
    func mountsAreDetachedNotEmptied() throws {
        let base = try makeTemporaryDirectory()
        defer { _ = umount2(base + "/work/roots/stage-0/proc", Int32(MNT_DETACH)) }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let precious = base + "/precious"
        let work = base + "/work"
        try FileManager.default.createDirectory(atPath: precious, withIntermediateDirectories: true)
        try "keep me\n".write(toFile: precious + "/file", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: work + "/roots/stage-0/proc", withIntermediateDirectories: true)
        try "partial\n".write(toFile: work + "/roots/stage-0/blob", atomically: false, encoding: .utf8)
        try #require(mount(precious, work + "/roots/stage-0/proc", nil, UInt(MS_BIND), nil) == 0, "bind mount: errno \(errno)")
        #expect(DirectoryRemoval.mountPoints().contains(work + "/roots/stage-0/proc"))

        #expect(DirectoryRemoval.remove(work) == nil)
        #expect(!FileManager.default.fileExists(atPath: work))
        #expect(!DirectoryRemoval.mountPoints().contains { $0.hasPrefix(work) })
        #expect(try String(contentsOfFile: precious + "/file", encoding: .utf8) == "keep me\n")
    }

    @Test("names that are not UTF-8 are removed too")
    func nonUTF8Names() throws {
        let base = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let work = base + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // "caf\xe9" (Latin-1), a file and a directory holding one.
        for name: [UInt8] in [[0x63, 0x61, 0x66, 0xE9], [0x64, 0xFF]] {
            let path = Array(work.utf8) + [0x2F] + name
            let made = (path + [0]).withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { name.count == 2 ? mkdir($0.baseAddress!, 0o755) : creat($0.baseAddress!, 0o644) }
            }
            try #require(made >= 0, "errno \(errno)")
        }
        #expect(DirectoryRemoval.remove(work) == nil)
        #expect(!FileManager.default.fileExists(atPath: work))
    }

    @Test("mountinfo's octal escapes are decoded")
    func mountinfoEscapes() {
        #expect(DirectoryRemoval.decode(Array(#"/tmp/a\040b\011c"#.utf8)[...]) == "/tmp/a b\tc")
    }

    private func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/kiln-removal-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw POSIXError(.EIO)
        }
        return String(cString: made)
    }
}
