import Foundation
import PluginAPI
import PluginSupport
import Testing

@Suite struct DigestTests {
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test(arguments: [
        "sha256:" + emptySHA256,
        "sha512:" + String(repeating: "0123456789abcdef", count: 8),
    ])
    func parsesWellFormedDigests(text: String) throws {
        let digest = try Digest(parsing: text)
        #expect(digest.description == text)
        #expect(digest.encoded == String(text.split(separator: ":")[1]))
    }

    // Cases after opencontainers/go-digest `digest_test.go` (TestParseDigest), restricted to the
    // algorithms kiln accepts.
    @Test(arguments: [
        "", "sha256", "sha256:", ":" + emptySHA256, "sha256:" + emptySHA256.uppercased(),
        "sha256:" + emptySHA256.dropLast(),
        "sha256:" + emptySHA256 + "0", "sha384:" + emptySHA256, "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:" + emptySHA256.dropLast() + "g", "sha256 :" + emptySHA256, "sha512:" + emptySHA256,
    ])
    func rejectsMalformedDigests(text: String) {
        #expect(throws: Digest.ParseError.malformed(text)) { try Digest(parsing: text) }
    }

    @Test(arguments: [
        ("", emptySHA256),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),  // the OCI empty descriptor
    ])
    func sha256MatchesKnownValues(input: String, hex: String) {
        #expect(Digest.sha256(of: input).description == "sha256:" + hex)
    }

    @Test func streamingEqualsOneShot() {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256Hasher()
        var offset = 0
        for size in [1, 63, 64, 65, 4096, 100_000] {
            hasher.update(Array(bytes[offset..<offset + size]))
            offset += size
        }
        hasher.update(Array(bytes[offset...]))
        #expect(hasher.finalize() == Digest.sha256(of: bytes))
    }

    @Test func codableGoesThroughTheSameCheck() throws {
        let digest = Digest.sha256(of: "x")
        let json = try JSONEncoder().encode([digest])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(digest)\"]")
        #expect(try JSONDecoder().decode([Digest].self, from: json) == [digest])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Digest].self, from: Data(#"["sha256:abc"]"#.utf8))
        }
    }

    @Test func orderIsByText() throws {
        let a = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
        let b = try Digest(parsing: "sha256:" + String(repeating: "1", count: 64))
        #expect(a < b)
        #expect([b, a].sorted() == [a, b])
    }
}
