// BytePath: names as the kernel's bytes, compared, hashed and ordered bytewise.
import PluginAPI
import Testing

@Suite("BytePath")
struct BytePathTests {
    @Test func equalityAndHashingAreBytewise() {
        let nfc = BytePath(bytes: [0x6E, 0xC3, 0xA9])
        let nfd = BytePath(bytes: [0x6E, 0x65, 0xCC, 0x81])
        #expect("n\u{E9}" == "ne\u{301}", "Swift strings compare canonically")
        #expect(nfc != nfd)
        #expect(Set([nfc, nfd, BytePath("n\u{E9}")]).count == 2)
        #expect(BytePath(bytes: [0x61, 0xE9]) != BytePath(bytes: [0x61, 0xE8]))
    }

    @Test(arguments: [
        ("a", "b"), ("a", "a/b"), ("a/b", "a0"), ("a-c", "a/b"), ("abcdefgh1", "abcdefgh2"), ("abcdefgh", "abcdefghi"),
        ("Z", "a"), ("\u{E9}", "\u{FF}"),
    ])
    func orderIsBytewise(smaller: String, larger: String) {
        #expect(BytePath(smaller) < BytePath(larger))
        #expect(!(BytePath(larger) < BytePath(smaller)))
        #expect(Array(smaller.utf8).lexicographicallyPrecedes(Array(larger.utf8)))
    }

    @Test func invalidBytesAreEscapedInMessagesOnly() {
        let p = BytePath(bytes: Array("d/caf".utf8) + [0xE9, 0x2F, 0x78])
        #expect(p.description == "d/caf\\xE9/x")
        #expect(p.string == nil)
        #expect(p.lossyString == "d/caf\u{FFFD}/x")
        #expect(p.components == ["d", BytePath(bytes: Array("caf".utf8) + [0xE9]), "x"])
        #expect(p.parent == BytePath(bytes: Array("d/caf".utf8) + [0xE9]))
        #expect(p.lastComponent == "x")
        #expect(BytePath("d").appending("e") == "d/e" && BytePath.empty.appending("e") == "e")
        #expect(p.withCString { strlenOf($0) } == p.bytes.count)
    }

    private func strlenOf(_ c: UnsafePointer<CChar>) -> Int {
        var n = 0
        while c[n] != 0 { n += 1 }
        return n
    }
}
