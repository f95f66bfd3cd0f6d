// A bounded, seeded mutation fuzzer for the JSON kiln reads from registries (issue 12,
// "Fuzzing, kept"): manifests, indexes, configs, error bodies and token responses. libFuzzer is
// not used: `-sanitize=fuzzer` needs a separate build of the whole package; a deterministic
// generator runs inside the ordinary test command instead.
//
// Seeds: Tests/Fuzz/registry-json. An input that crashes the process is left there as
// `.pending` (written before each decode); the next run keeps it as `crash-<sha256>.json` and
// fails, and every later run decodes it first. Knobs: KILN_FUZZ_SEED, KILN_FUZZ_SECONDS (≤ 30),
// KILN_FUZZ_ITERATIONS.
import Foundation
import Glibc
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@testable import RegistryOCI

enum RegistryJSONDecoders {
    /// Every decoder of registry JSON, fed `bytes`; each may refuse them, none may crash.
    /// Returns true when one of the image model's types accepted the input.
    @discardableResult
    static func decodeAll(_ bytes: [UInt8]) -> Bool {
        var accepted = false
        if let m = try? CanonicalJSON.decode(Manifest.self, from: bytes) {
            accepted = true
            _ = try? CanonicalJSON.encode(m)
        }
        if let i = try? CanonicalJSON.decode(ImageIndex.self, from: bytes) {
            accepted = true
            _ = i.manifest(for: Platform(os: "linux", architecture: "amd64"))
            _ = try? CanonicalJSON.encode(i)
        }
        if let c = try? CanonicalJSON.decode(ImageConfig.self, from: bytes) {
            accepted = true
            _ = try? CanonicalJSON.encode(c)
        }
        _ = CanonicalJSON.mediaType(of: bytes)
        for contentType in [nil, "application/vnd.oci.image.index.v1+json", "text/plain; charset=utf-8"] {
            _ = try? OCIRegistryClient.mediaType(of: bytes, contentType: contentType) {
                RegistryError(kind: .protocolViolation($0), registry: "fuzz", isTemporary: false)
            }
        }
        _ = RegistryErrorEntry.parse(bytes).map(\.description)
        _ = TokenClient.decodeBody(bytes)
        return accepted
    }
}

/// JSON-aware mutations of byte strings.
struct JSONMutator {
    var random: SplitMix64
    static let tokens: [String] = [
        "-1", "-0", "0", "1e999", "-1e999", "1e300", "9223372036854775808", "18446744073709551616", "0.5", "null", "true",
        "false", "\"\"", "{}", "[]", "\"\\u0000\"", "\"\\ud800\"", "\"\\uDFFF\\uD800\"", "\"sha256:\"", "\"sha256:zz\"",
        "\"sha512:00\"", "\"application/vnd.oci.image.index.v1+json\"", "\"application/vnd.oci.image.layer.v1.tar+zstd\"",
        "\"mediaType\"", "\"manifests\"", "\"layers\"", "\"diff_ids\"", "\"errors\"", "\"expires_in\"", "\"token\"",
        String(repeating: "[", count: 3000), String(repeating: "{\"a\":", count: 3000), String(repeating: "9", count: 400),
    ]
    static let structural = Array("{}[]\":,-.0123456789eE\\ tfnu".utf8)
    static let maxSize = 64 << 10

    mutating func index(_ count: Int) -> Int { count <= 1 ? 0 : Int(random.next() % UInt64(count)) }

    mutating func mutate(_ input: [UInt8], donors: [[UInt8]]) -> [UInt8] {
        var b = input
        for _ in 0...index(4) {
            let at = index(b.count + 1)
            switch index(8) {
            case 0 where !b.isEmpty: b[min(at, b.count - 1)] ^= UInt8(1 << index(8))
            case 1 where !b.isEmpty: b[min(at, b.count - 1)] = Self.structural[index(Self.structural.count)]
            case 2: b.insert(contentsOf: Array(Self.tokens[index(Self.tokens.count)].utf8), at: at)
            case 3 where !b.isEmpty:
                let end = min(b.count, at + 1 + index(16))
                b.removeSubrange(min(at, b.count - 1)..<end)
            case 4 where !b.isEmpty:
                let start = min(at, b.count - 1)
                let end = min(b.count, start + 1 + index(64))
                b.insert(contentsOf: b[start..<end], at: index(b.count + 1))
            case 5:
                let donor = donors[index(donors.count)]
                b = Array(b.prefix(at)) + Array(donor.suffix(from: index(donor.count + 1)))
            case 6: b = Array(b.prefix(at))
            default:
                // Replace one string value ("…") with a token: keeps the document's shape.
                guard let open = b[min(at, b.count)...].firstIndex(of: UInt8(ascii: "\"")),
                    let close = b[(open + 1)...].firstIndex(of: UInt8(ascii: "\""))
                else { continue }
                b.replaceSubrange(open...close, with: Array(Self.tokens[index(Self.tokens.count)].utf8))
            }
        }
        return b.count > Self.maxSize ? Array(b.prefix(Self.maxSize)) : b
    }
}

@Suite("Fuzz: registry JSON decoding survives any input")
struct RegistryJSONFuzzTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/registry-json").path
    static var pending: String { corpus + "/.pending" }

    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    /// Keeps the input a crashed run left behind; returns its new name.
    static func keepCrash() throws -> String? {
        guard let data = FileManager.default.contents(atPath: pending), !data.isEmpty else {
            unlink(pending)
            return nil
        }
        let name = "crash-\(Digest.sha256(of: [UInt8](data)).encoded.prefix(16)).json"
        _ = rename(pending, corpus + "/" + name)
        return name
    }

    static func seeds() throws -> [[UInt8]] {
        try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().filter { $0.hasSuffix(".json") }.map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + $0)))
        }
    }

    @Test func seedsDecodeAsTheirKind() throws {
        let accepted = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter {
            $0.hasPrefix("manifest-") || $0.hasPrefix("index-") || $0 == "config.json"
        }
        for name in accepted where name != "manifest-schema1.json" {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name)))
            #expect(RegistryJSONDecoders.decodeAll(bytes), "seed \(name) should decode as an image document")
        }
        let error = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/error-body.json")))
        #expect(RegistryErrorEntry.parse(error).map(\.code) == ["BLOB_UNKNOWN", "DENIED", "TOOMANYREQUESTS"])
        let huge = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/token-huge-expiry.json")))
        #expect(TokenClient.decodeBody(huge)?.lifetime == 60, "an expires_in beyond Int counts as missing")
    }

    @Test func boundedMutationRunDoesNotCrash() throws {
        if let kept = try Self.keepCrash() {
            Issue.record("a previous fuzz run crashed; its input is kept as Tests/Fuzz/registry-json/\(kept)")
        }
        var pool = try Self.seeds()
        try #require(!pool.isEmpty, "no seeds in \(Self.corpus)")
        let seed = Self.environment("KILN_FUZZ_SEED").flatMap { UInt64($0) } ?? 0x6B69_6C6E
        let seconds = min(30, Self.environment("KILN_FUZZ_SECONDS").flatMap { Double($0) } ?? 20)
        let limit = Self.environment("KILN_FUZZ_ITERATIONS").flatMap { Int($0) } ?? 200_000
        let fd = open(Self.pending, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0, "cannot write \(Self.pending)")
        func stage(_ bytes: [UInt8]) {
            _ = ftruncate(fd, 0)
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        // Every seed (and every kept crash) as it is, then mutations.
        for bytes in pool {
            stage(bytes)
            RegistryJSONDecoders.decodeAll(bytes)
        }
        var mutator = JSONMutator(random: SplitMix64(state: seed))
        let deadline = ContinuousClock.now + .seconds(seconds)
        var runs = 0
        while runs < limit, ContinuousClock.now < deadline {
            let input = mutator.mutate(pool[mutator.index(pool.count)], donors: pool)
            stage(input)
            // A mutant that still decodes is worth mutating further (a poor man's coverage).
            if RegistryJSONDecoders.decodeAll(input), pool.count < 500 { pool.append(input) }
            runs += 1
        }
        close(fd)
        unlink(Self.pending)
        #expect(runs > 1000, "the fuzz run did too little work to mean anything (\(runs) inputs)")
    }
}
